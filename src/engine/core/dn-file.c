/* dn-file.c: temporaries and atomic writes. */
#include "dn-file.h"
#include "dn-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define TEMP_INFIX ".tmp-"
#define TEMP_RANDOM 6 /* the XXXXXX of a g_mkstemp template */

char *dn_file_temp_template (const char *path)
{
    return g_strconcat (path, TEMP_INFIX "XXXXXX", NULL);
}

static gboolean random_tail (const char *s)
{
    if (strlen (s) != TEMP_RANDOM)
        return FALSE;
    for (const char *p = s; *p != '\0'; p++)
        if (!g_ascii_isalnum (*p))
            return FALSE;
    return TRUE;
}

gboolean dn_file_is_temporary (const char *name)
{
    const char *t = g_strrstr (name, TEMP_INFIX);
    if (t != NULL && t != name && random_tail (t + strlen (TEMP_INFIX)))
        return TRUE;
    /* g_file_set_contents' "FILE.XXXXXX", for the files a run writes as text */
    static const char *const exts[] = {".csv.", ".png.", ".json.", ".log."};
    for (guint i = 0; i < G_N_ELEMENTS (exts); i++) {
        const char *e = g_strrstr (name, exts[i]);
        if (e != NULL && random_tail (e + strlen (exts[i])))
            return TRUE;
    }
    return FALSE;
}

gboolean dn_file_write_all (int fd, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = write (fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        data += n;
        len -= (gsize) n;
    }
    return TRUE;
}

int dn_file_atomic_open (const char *path, char **tmp, GError **error)
{
    *tmp = dn_file_temp_template (path);
    int fd = g_mkstemp_full (*tmp, O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
        int err = errno;
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "cannot write %s: %s; check that the folder exists and is writable", path,
                     g_strerror (err));
        g_clear_pointer (tmp, g_free);
    }
    return fd;
}

/* The sync, close and rename of a commit; 0 or the errno that stopped it. Removes the
 * temporary on failure; frees nothing. */
static int commit_files (int fd, const char *tmp, const char *path, gboolean ok)
{
    int err = errno;
    if (ok && fsync (fd) != 0 && errno != EINVAL) {
        ok = FALSE;
        err = errno;
    }
    if (close (fd) != 0 && ok) {
        ok = FALSE;
        err = errno;
    }
    if (ok && g_rename (tmp, path) != 0) {
        ok = FALSE;
        err = errno;
    }
    if (!ok) {
        g_unlink (tmp);
        return err != 0 ? err : EIO;
    }
    return 0;
}

static gboolean commit_error (int err, const char *path, GError **error)
{
    if (err == 0)
        return TRUE;
    g_set_error (error, DN_ERROR, DN_ERROR_IO,
                 "cannot write %s: %s; check free disk space and permissions", path,
                 g_strerror (err));
    return FALSE;
}

gboolean dn_file_atomic_commit (int fd, char *tmp, const char *path, gboolean ok, GError **error)
{
    int err = commit_files (fd, tmp, path, ok);
    g_free (tmp);
    return commit_error (err, path, error);
}

struct _DnFileCommit {
    GThread *thread;
    int fd;
    char *tmp;
    char *path;
    gboolean ok;
    int err;
};

static gpointer commit_thread (gpointer data)
{
    DnFileCommit *c = data;
    c->err = commit_files (c->fd, c->tmp, c->path, c->ok);
    return NULL;
}

gboolean dn_file_atomic_commit_start (int fd, char *tmp, const char *path, gboolean ok,
                                      DnFileCommit **pending, GError **error)
{
    *pending = NULL;
    if (!ok)
        return dn_file_atomic_commit (fd, tmp, path, ok, error);
    DnFileCommit *c = g_new0 (DnFileCommit, 1);
    c->fd = fd;
    c->tmp = tmp;
    c->path = g_strdup (path);
    c->ok = ok;
    c->thread = g_thread_try_new ("dn-commit", commit_thread, c, NULL);
    if (c->thread == NULL) {
        /* no thread to spare: commit here, as the plain call would */
        g_free (c->path);
        g_free (c);
        return dn_file_atomic_commit (fd, tmp, path, ok, error);
    }
    *pending = c;
    return TRUE;
}

gboolean dn_file_commit_finish (DnFileCommit *c, GError **error)
{
    if (c == NULL)
        return TRUE;
    g_thread_join (c->thread);
    gboolean ok = commit_error (c->err, c->path, error);
    g_free (c->tmp);
    g_free (c->path);
    g_free (c);
    return ok;
}

gboolean dn_file_write_atomic (const char *path, const void *data, gsize len, GError **error)
{
    char *tmp = NULL;
    int fd = dn_file_atomic_open (path, &tmp, error);
    if (fd < 0)
        return FALSE;
    gboolean ok = dn_file_write_all (fd, data, len);
    return dn_file_atomic_commit (fd, tmp, path, ok, error);
}
