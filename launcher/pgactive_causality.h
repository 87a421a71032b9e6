/* pgactive_causality.h: naming a row by its key in the messages local changes put in the stream. */
#ifndef PGACTIVE_CAUSALITY_H
#define PGACTIVE_CAUSALITY_H

#include "access/htup.h"
#include "lib/stringinfo.h"
#include "utils/relcache.h"

extern int	pgactive_begin_stream_formats(void);
extern void pgactive_end_stream_formats(int nest);
extern void pgactive_append_key(StringInfo out, Relation rel, HeapTuple tuple);
extern void pgactive_append_text(StringInfo out, const char *text);

#endif
