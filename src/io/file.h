/*
 * File access shared by the loaders: whole-file reads for the small inputs parsed in memory
 * (config JSON, SentencePiece models), and read-only mappings for weight files (safetensors,
 * GGUF), so that both formats open, check and report errors the same way.
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

/* Maps the regular file at `path` read-only (MAP_PRIVATE). An empty file gives *map NULL and
 * *size 0. Release with kstt__unmap_file. Errors: KSTT_EINVAL (NULL path), KSTT_ENOTFOUND (no
 * such file) or KSTT_EIO "<path>: cannot open: <reason>", KSTT_EIO "<path>: cannot stat: ...",
 * "<path>: not a regular file", "<path>: file too large to map", "<path>: cannot mmap N bytes:
 * <reason>"; *map is then NULL. */
int kstt__map_file(const char *path, void **map, size_t *size, char *err, size_t errlen);
void kstt__unmap_file(void *map, size_t size);

#endif
