/* pgactive_ddl.h: transparent DDL replication (pgactive_ddl.c). */
#ifndef PGACTIVE_DDL_H
#define PGACTIVE_DDL_H

extern void pgactive_ddl_init(void);
extern void pgactive_ddl_install_hook(void);

#endif
