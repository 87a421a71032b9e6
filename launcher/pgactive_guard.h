/* pgactive_guard.h: the hooks of pgactive_guard.c, installed by _PG_init. */
#ifndef PGACTIVE_GUARD_H
#define PGACTIVE_GUARD_H

extern void pgactive_guard_init(void);

#endif
