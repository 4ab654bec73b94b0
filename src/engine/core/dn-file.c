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

gboolean dn_file_atomic_commit (int fd, char *tmp, const char *path, gboolean ok, GError **error)
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
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "cannot write %s: %s; check free disk space and permissions", path,
                     g_strerror (err));
    }
    g_free (tmp);
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
