/* pgactive_locks.h: the global DDL lock's shared state (pgactive_locks.c). */
#ifndef PGACTIVE_LOCKS_H
#define PGACTIVE_LOCKS_H

extern void pgactive_locks_init(void);
extern void pgactive_locks_shmem_request(void);
extern void pgactive_locks_shmem_startup(void);
extern void pgactive_locks_wait_for_writes(const char *what);
extern bool pgactive_locks_held_by_my_transaction(void);

#endif
