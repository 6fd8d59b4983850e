/*
 * Atomic output files and input/output identity checks (see app_output.h).
 */
#include "app_output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_util.h"
#include "kstt.h"

struct app_output {
    FILE *f;
    char *dest; /* NULL: stdout */
    char *tmp;
};

/* Temporary files not yet committed or aborted, for the signal handler (which may only read
 * them and call unlink). */
#define MAX_PENDING 64
static char *volatile pending[MAX_PENDING];

static void pending_add(char *tmp) {
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending[i]) {
            pending[i] = tmp;
            return;
        }
}

static void pending_remove(const char *tmp) {
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i] == tmp)
            pending[i] = NULL;
}

static void on_signal(int sig) {
    for (int i = 0; i < MAX_PENDING; i++) {
        char *t = pending[i];
        if (t)
            unlink(t);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void app_output_cleanup_on_signals(void) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

int app_output_open(app_output **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    app_output *o = calloc(1, sizeof *o);
    if (!o)
        return app_errf(err, errlen, KSTT_ENOMEM, "out of memory");
    if (!path || !strcmp(path, "-")) {
        o->f = stdout;
        *out = o;
        return KSTT_OK;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        free(o);
        return app_errf(err, errlen, KSTT_EINVAL, "%s: is a directory", path);
    }
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    size_t tlen = dlen + strlen(base) + 32;
    o->dest = strdup(path);
    o->tmp = malloc(tlen);
    if (!o->dest || !o->tmp) {
        app_output_abort(o);
        return app_errf(err, errlen, KSTT_ENOMEM, "out of memory");
    }
    snprintf(o->tmp, tlen, "%.*s.%s.kstt-XXXXXX", (int)dlen, path, base);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        app_output_abort(o);
        return app_errf(err, errlen, KSTT_EIO, "%s: cannot open for writing: %s", path,
                        strerror(e));
    }
    /* The mode open(2) would give: the existing file's, else 0666 minus the umask. */
    mode_t mode;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        mode = st.st_mode & 07777;
    } else {
        mode_t um = umask(0);
        umask(um);
        mode = 0666 & ~um;
    }
    fchmod(fd, mode);
    pending_add(o->tmp);
    o->f = fdopen(fd, "w");
    if (!o->f) {
        int e = errno;
        close(fd);
        app_output_abort(o);
        return app_errf(err, errlen, KSTT_EIO, "%s: cannot open for writing: %s", path,
                        strerror(e));
    }
    *out = o;
    return KSTT_OK;
}

FILE *app_output_file(app_output *o) {
    return o->f;
}

const char *app_output_name(const app_output *o) {
    return o->dest ? o->dest : "standard output";
}

const char *app_output_temp_path(const app_output *o) {
    return o ? o->tmp : NULL;
}

int app_output_commit(app_output *o, char *err, size_t errlen) {
    if (!o->dest) {
        int bad = fflush(stdout) != 0 || ferror(stdout);
        free(o);
        return bad ? app_errf(err, errlen, KSTT_EIO, "cannot write to standard output") : KSTT_OK;
    }
    int bad = fflush(o->f) != 0 || ferror(o->f);
    int e = errno;
    if (!bad && fsync(fileno(o->f)) != 0) {
        bad = 1;
        e = errno;
    }
    if (fclose(o->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->f = NULL;
    if (!bad && rename(o->tmp, o->dest) != 0) {
        bad = 1;
        e = errno;
    }
    int rc = KSTT_OK;
    pending_remove(o->tmp);
    if (bad) {
        rc = app_errf(err, errlen, KSTT_EIO, "cannot write %s: %s", o->dest, strerror(e));
        unlink(o->tmp);
    }
    free(o->dest);
    free(o->tmp);
    free(o);
    return rc;
}

void app_output_abort(app_output *o) {
    if (!o)
        return;
    if (o->f && o->f != stdout)
        fclose(o->f);
    else if (o->f == stdout)
        fflush(stdout);
    if (o->tmp) {
        pending_remove(o->tmp);
        unlink(o->tmp);
    }
    free(o->dest);
    free(o->tmp);
    free(o);
}

int app_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* realpath of path, or of its nearest existing parent with the rest appended. */
static int resolve(const char *path, char *out) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    if (realpath(buf, out))
        return 0;
    char *slash = strrchr(buf, '/');
    char parent[PATH_MAX], rest[PATH_MAX];
    if (!slash) {
        if (!getcwd(parent, sizeof parent))
            return -1;
        snprintf(rest, sizeof rest, "%s", buf);
    } else {
        snprintf(rest, sizeof rest, "%s", slash + 1);
        if (slash == buf)
            snprintf(parent, sizeof parent, "/");
        else {
            *slash = '\0';
            if (resolve(buf, parent))
                return -1;
        }
    }
    if (!strcmp(rest, "") || !strcmp(rest, "."))
        return snprintf(out, PATH_MAX, "%s", parent) >= PATH_MAX ? -1 : 0;
    if (!strcmp(rest, "..")) {
        char *s = strrchr(parent, '/');
        if (s && s != parent)
            *s = '\0';
        else
            snprintf(parent, sizeof parent, "/");
        return snprintf(out, PATH_MAX, "%s", parent) >= PATH_MAX ? -1 : 0;
    }
    return snprintf(out, PATH_MAX, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", rest) >=
                   PATH_MAX
               ? -1
               : 0;
}

int app_path_inside(const char *path, const char *dir) {
    if (app_same_file(path, dir))
        return 1;
    char p[PATH_MAX], d[PATH_MAX];
    if (resolve(path, p) || resolve(dir, d))
        return 0;
    size_t n = strlen(d);
    if (strncmp(p, d, n))
        return 0;
    return p[n] == '\0' || p[n] == '/' || (n == 1 && d[0] == '/');
}
