/*
 * Whole-file reads for the small text and binary inputs the loaders parse in memory (config
 * JSON, SentencePiece models). Large weights are mmapped instead (safetensors.h).
 */
#ifndef KSTT_IO_FILE_H
#define KSTT_IO_FILE_H

#include <stddef.h>

#include "kstt.h" /* status codes */

/* Reads the file at `path` into a kstt__alloc'd buffer (*buf, release with kstt__free; *len
 * bytes, not NUL-terminated), in chunks until end of file so that pipes work too. Files of more
 * than `max` bytes are refused. `what` names the kind of file in messages ("tokenizer"; NULL
 * for none). Errors: KSTT_ENOTFOUND (no such file) or KSTT_EIO "<path>: cannot open[ what]:
 * <reason>", KSTT_EFORMAT "<path>: too large[ for a what] (over <max> bytes)",
 * KSTT_ENOMEM, KSTT_EIO on a read error; *buf is then NULL. */
int kstt__read_file(const char *path, size_t max, const char *what, void **buf, size_t *len,
                    char *err, size_t errlen);

#endif
