/*
 * Output files that are never left half-written: the data goes to a temporary file next to the
 * destination (".NAME.kstt-XXXXXX", same directory, so the rename is atomic), which replaces
 * the destination only on app_output_commit, after a flush and fsync. app_output_abort (an
 * error, Ctrl-C) removes the temporary file and leaves any existing destination untouched. A
 * new file gets the permissions open(2) would give it (0666 minus the umask); an existing
 * destination keeps its mode. "-" or NULL is standard output (written directly).
 *
 * Also the checks that keep a command from destroying its own inputs (app_same_file,
 * app_path_inside).
 */
#ifndef APP_OUTPUT_H
#define APP_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

typedef struct app_output app_output;

/* Creates the temporary file for path (or uses stdout). Returns 0, or a negative kstt status
 * with a message naming path. The destination is not touched. */
int app_output_open(app_output **out, const char *path, char *err, size_t errlen);
FILE *app_output_file(app_output *o);
/* The destination as given ("standard output" for stdout), for messages. */
const char *app_output_name(const app_output *o);
/* Flushes, syncs, closes and renames into place; frees o. Returns 0, or a negative status with
 * a message (the temporary file is then removed and the destination untouched). */
int app_output_commit(app_output *o, char *err, size_t errlen);
/* Closes and removes the temporary file; frees o (NULL ok). */
void app_output_abort(app_output *o);
/* The temporary file's path, or NULL for stdout (for a signal handler that must unlink it:
 * the string stays valid until commit or abort). */
const char *app_output_temp_path(const app_output *o);

/* Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every temporary file still open
 * (not committed or aborted) and then end the process as the signal would have: an
 * interrupted command leaves no temporary files and no half-written destination. */
void app_output_cleanup_on_signals(void);

/* 1 when a and b name the same existing file (same device and inode: hard links, symlinks,
 * "./x" vs "x"), 0 otherwise (including when either does not exist). */
int app_same_file(const char *a, const char *b);
/* 1 when path is dir itself or lies inside it (after resolving symlinks and "..", also when
 * path does not exist yet: its nearest existing parent is resolved), 0 otherwise. */
int app_path_inside(const char *path, const char *dir);

#endif
