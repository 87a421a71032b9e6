/* pgactive_do_not_replicate.h: the pgactive.do_not_replicate setting, defined by _PG_init. */
#ifndef PGACTIVE_DO_NOT_REPLICATE_H
#define PGACTIVE_DO_NOT_REPLICATE_H

extern void pgactive_do_not_replicate_init(void);

#endif
