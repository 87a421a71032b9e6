/* pgactive_sequence.h: the atomic sequence advance behind snowflake ids. */
#ifndef PGACTIVE_SEQUENCE_H
#define PGACTIVE_SEQUENCE_H

extern void pgactive_sequence_shmem_request(void);

#endif
