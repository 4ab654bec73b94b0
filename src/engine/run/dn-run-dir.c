/* dn-run-dir.c: choosing, locking and clearing run folders. */
#include "dn-run-dir.h"
#include "dn-error.h"
#include "dn-json.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* NAME-2 ... NAME-9999: far more than anyone keeps, few enough to fail fast. */
#define MAX_NUMBERED 9999

struct _DnRunDir {
    char *path;
    char *requested;
    int lock_fd;
};

int dn_run_dir_remove_temporaries (const char *dir)
{
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    int removed = 0;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
        if (!dn_file_is_temporary (name))
            continue;
        g_autofree char *path = g_build_filename (dir, name, NULL);
        if (g_file_test (path, G_FILE_TEST_IS_REGULAR) && g_remove (path) == 0)
            removed++;
    }
    return removed;
}

/* ---- the lock ---- */

static char *read_holder (const char *lock_path)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents (lock_path, &text, NULL, NULL))
        return g_strdup ("another process");
    g_autofree char *pid = NULL, *host = NULL;
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    for (int i = 0; lines[i] != NULL; i++) {
        if (g_str_has_prefix (lines[i], "pid="))
            pid = g_strdup (lines[i] + 4);
        else if (g_str_has_prefix (lines[i], "host="))
            host = g_strdup (lines[i] + 5);
    }
    if (pid == NULL || *pid == '\0')
        return g_strdup ("another process (it has not written its pid yet)");
    return g_strdup_printf ("process %s on host %s", pid, host != NULL ? host : "?");
}

/* -1 + error, or the locked descriptor of dir/run.lock. *busy: another holds it. */
static int take_lock (const char *dir, gboolean *busy, GError **error)
{
    g_autofree char *path = g_build_filename (dir, DN_RUN_DIR_LOCK_FILE, NULL);
    *busy = FALSE;
    int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "cannot lock the run folder %s: %s cannot be opened (%s); check that the "
                     "folder is writable",
                     dir, path, g_strerror (err));
        return -1;
    }
    if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close (fd);
        if (err == EWOULDBLOCK) {
            *busy = TRUE;
            g_autofree char *holder = read_holder (path);
            g_set_error (error, DN_ERROR, DN_ERROR_IO,
                         "the run folder %s is in use by %s; wait until that run ends or stop "
                         "it, or choose another folder",
                         dir, holder);
        } else {
            g_set_error (error, DN_ERROR, DN_ERROR_IO, "cannot lock the run folder %s: %s", dir,
                         g_strerror (err));
        }
        return -1;
    }
    char host[256] = "";
    if (gethostname (host, sizeof host - 1) != 0)
        g_strlcpy (host, "?", sizeof host);
    g_autofree char *text = g_strdup_printf ("pid=%ld\nhost=%s\n", (long) getpid (), host);
    if (ftruncate (fd, 0) != 0 || !dn_file_write_all (fd, text, strlen (text))) {
        int err = errno;
        close (fd);
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "cannot write %s: %s", path, g_strerror (err));
        return -1;
    }
    return fd;
}

gboolean dn_run_dir_is_locked (const char *path, char **holder)
{
    g_autofree char *lock = g_build_filename (path, DN_RUN_DIR_LOCK_FILE, NULL);
    int fd = g_open (lock, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return FALSE;
    gboolean locked = flock (fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close (fd);
    if (locked && holder != NULL)
        *holder = read_holder (lock);
    return locked;
}

static DnRunDir *run_dir_new (const char *path, const char *requested, int fd)
{
    DnRunDir *d = g_new0 (DnRunDir, 1);
    d->path = g_strdup (path);
    d->requested = g_strdup (requested);
    d->lock_fd = fd;
    return d;
}

void dn_run_dir_free (DnRunDir *dir)
{
    if (dir == NULL)
        return;
    if (dir->lock_fd >= 0) {
        /* emptied before the unlock: a pid in it always belongs to the holder */
        if (ftruncate (dir->lock_fd, 0) != 0)
            g_debug ("could not empty the lock file of %s", dir->path);
        close (dir->lock_fd);
    }
    g_free (dir->path);
    g_free (dir->requested);
    g_free (dir);
}

const char *dn_run_dir_path (const DnRunDir *dir)
{
    return dir->path;
}

const char *dn_run_dir_requested (const DnRunDir *dir)
{
    return dir->requested;
}

/* ---- what a run folder holds ---- */

/* The names a run writes: checkpoints, tables, charts, the log, its files. */
static gboolean run_file_name (const char *name)
{
    static const char *const names[] = {"experiment.json", "summary.json", "run.log",
                                        DN_RUN_DIR_LOCK_FILE};
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (g_str_equal (name, names[i]))
            return TRUE;
    return g_str_has_suffix (name, ".safetensors") || g_str_has_suffix (name, ".csv") ||
           g_str_has_suffix (name, ".png") || dn_file_is_temporary (name);
}

/* TRUE when dir has entries other than run.lock; *foreign: the first entry no run writes. */
static gboolean has_files (const char *dir, char **foreign)
{
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    gboolean any = FALSE;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
        if (g_str_equal (name, DN_RUN_DIR_LOCK_FILE))
            continue;
        any = TRUE;
        g_autofree char *path = g_build_filename (dir, name, NULL);
        if (foreign != NULL && *foreign == NULL &&
            (!run_file_name (name) || !g_file_test (path, G_FILE_TEST_IS_REGULAR) ||
             g_file_test (path, G_FILE_TEST_IS_SYMLINK)))
            *foreign = g_strdup (name);
    }
    return any;
}

gboolean dn_run_dir_holds_run (const char *path)
{
    return g_file_test (path, G_FILE_TEST_IS_DIR) && has_files (path, NULL);
}

static gboolean clear_folder (const char *dir, GError **error)
{
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
        if (g_str_equal (name, DN_RUN_DIR_LOCK_FILE))
            continue;
        g_autofree char *path = g_build_filename (dir, name, NULL);
        if (g_remove (path) != 0) {
            int err = errno;
            g_set_error (error, DN_ERROR, DN_ERROR_IO,
                         "cannot clear the run folder %s: %s cannot be removed (%s)", dir, path,
                         g_strerror (err));
            return FALSE;
        }
    }
    return TRUE;
}

/* ---- choosing ---- */

static DnRunDir *overwrite_dir (const char *path, GError **error)
{
    if (g_mkdir (path, 0755) != 0 && errno != EEXIST) {
        int err = errno;
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "could not create the run folder %s: %s; choose another with --out", path,
                     g_strerror (err));
        return NULL;
    }
    if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "%s is a file, not a run folder; --overwrite clears run folders only: move "
                     "the file or choose another folder with --out",
                     path);
        return NULL;
    }
    /* in use first (tested without creating run.lock: this may be no run folder) */
    g_autofree char *holder = NULL;
    if (dn_run_dir_is_locked (path, &holder)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "the run folder %s is in use by %s; wait until that run ends or stop it, or "
                     "choose another folder",
                     path, holder);
        return NULL;
    }
    g_autofree char *foreign = NULL;
    gboolean any = has_files (path, &foreign);
    g_autofree char *copy = g_build_filename (path, "experiment.json", NULL);
    g_autofree char *lock = g_build_filename (path, DN_RUN_DIR_LOCK_FILE, NULL);
    /* every run writes experiment.json (run.lock before it): a folder of CSV files
     * without either is someone's data, not a run */
    if (foreign == NULL && any && !g_file_test (copy, G_FILE_TEST_IS_REGULAR) &&
        !g_file_test (lock, G_FILE_TEST_IS_REGULAR)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "%s does not look like a run folder: it has no experiment.json, which every "
                     "run writes; --overwrite clears run folders only: empty it yourself or "
                     "choose another folder with --out",
                     path);
        return NULL;
    }
    if (foreign != NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "%s does not look like a run folder: it holds %s, which no run writes; "
                     "--overwrite clears run folders only: empty it yourself or choose another "
                     "folder with --out",
                     path, foreign);
        return NULL;
    }
    gboolean busy;
    int fd = take_lock (path, &busy, error);
    if (fd < 0)
        return NULL;
    if (!clear_folder (path, error)) {
        close (fd);
        return NULL;
    }
    return run_dir_new (path, path, fd);
}

DnRunDir *dn_run_dir_create (const char *out_dir, const char *name, gboolean overwrite,
                             GError **error)
{
    g_return_val_if_fail (out_dir != NULL && name != NULL, NULL);
    g_autofree char *base = g_build_filename (out_dir, name, NULL);
    if (g_mkdir_with_parents (out_dir, 0755) != 0) {
        int err = errno;
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "could not create the output folder %s: %s; choose another with --out",
                     out_dir, g_strerror (err));
        return NULL;
    }
    if (overwrite)
        return overwrite_dir (base, error);
    for (int n = 1; n <= MAX_NUMBERED; n++) {
        g_autofree char *path = n == 1 ? g_strdup (base) : g_strdup_printf ("%s-%d", base, n);
        /* mkdir is atomic: of two runs starting at once, one gets each number */
        if (g_mkdir (path, 0755) != 0) {
            int err = errno;
            if (err != EEXIST) {
                g_set_error (error, DN_ERROR, DN_ERROR_IO,
                             "could not create the run folder %s: %s; choose another with --out",
                             path, g_strerror (err));
                return NULL;
            }
            /* an empty folder (made by hand, or by a run that never started) is free */
            if (!g_file_test (path, G_FILE_TEST_IS_DIR) || has_files (path, NULL))
                continue;
        }
        gboolean busy;
        g_autoptr (GError) local = NULL;
        int fd = take_lock (path, &busy, &local);
        if (fd < 0 && busy)
            continue;
        if (fd < 0) {
            g_propagate_error (error, g_steal_pointer (&local));
            return NULL;
        }
        if (has_files (path, NULL)) { /* a run took it and ended between the test and the lock */
            close (fd);
            continue;
        }
        return run_dir_new (path, base, fd);
    }
    g_set_error (error, DN_ERROR, DN_ERROR_IO,
                 "%s and %s-2 to %s-%d all hold runs; remove old ones or choose another folder "
                 "with --out",
                 base, base, base, MAX_NUMBERED);
    return NULL;
}

DnRunDir *dn_run_dir_open (const char *path, GError **error)
{
    g_return_val_if_fail (path != NULL, NULL);
    if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "%s is not a folder; --resume takes the run folder a run wrote (for "
                     "example runs/NAME)",
                     path);
        return NULL;
    }
    gboolean busy;
    int fd = take_lock (path, &busy, error);
    if (fd < 0)
        return NULL;
    DnRunDir *d = run_dir_new (path, path, fd);
    dn_run_dir_remove_temporaries (path);
    g_autofree char *latest = g_build_filename (path, "latest.safetensors", NULL);
    if (!g_file_test (latest, G_FILE_TEST_EXISTS)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "%s has no latest.safetensors: the run did not finish its first epoch (or "
                     "task), so there is nothing to resume; start it again",
                     path);
        dn_run_dir_free (d);
        return NULL;
    }
    return d;
}

/* ---- names ---- */

char *dn_run_dir_snapshot_suffix (const char *name, gboolean numbered, int epoch, int number)
{
    if (!numbered)
        return g_strdup (name);
    return g_strdup_printf ("_epoch%d_%d%s", epoch, number, name);
}

/* ---- run state ---- */

gboolean dn_run_state_fail (const DnStateReader *s, GError **error, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    g_autofree char *what = g_strdup_vprintf (format, args);
    va_end (args);
    if (s->remedy != NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the model metadata \"%s\" is damaged: %s; %s", s->file, s->key, what,
                     s->remedy);
        return FALSE;
    }
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "%s: the run state (\"%s\" in the metadata) is damaged: %s; this checkpoint "
                 "cannot be resumed: resume from an undamaged copy or start the run again",
                 s->file, s->key, what);
    return FALSE;
}

gboolean dn_run_state_init (DnStateReader *s, const char *file, const char *key, const char *text,
                            GError **error)
{
    return dn_run_state_init_model (s, file, key, text, NULL, error);
}

gboolean dn_run_state_init_model (DnStateReader *s, const char *file, const char *key,
                                  const char *text, const char *remedy, GError **error)
{
    memset (s, 0, sizeof *s);
    s->file = file;
    s->key = key;
    s->remedy = remedy;
    if (text == NULL)
        return dn_run_state_fail (s, error, "it is missing");
    g_autoptr (GError) local = NULL;
    s->root = dn_json_parse (text, -1, key, &local);
    if (s->root == NULL)
        return dn_run_state_fail (s, error, "%s", local->message);
    if (!JSON_NODE_HOLDS_OBJECT (s->root))
        return dn_run_state_fail (s, error, "it is not a JSON object");
    s->o = json_node_get_object (s->root);
    return TRUE;
}

void dn_run_state_clear (DnStateReader *s)
{
    g_clear_pointer (&s->root, json_node_unref);
    s->o = NULL;
}

static JsonNode *member (const DnStateReader *s, const char *name, GError **error)
{
    JsonNode *n = s->o != NULL ? json_object_get_member (s->o, name) : NULL;
    if (n == NULL)
        dn_run_state_fail (s, error, "\"%s\" is missing", name);
    return n;
}

gboolean dn_run_state_int (const DnStateReader *s, const char *name, gint64 min, gint64 max,
                           gint64 *out, GError **error)
{
    JsonNode *n = member (s, name, error);
    if (n == NULL)
        return FALSE;
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64 ||
        json_node_get_int (n) < min || json_node_get_int (n) > max) {
        g_autofree char *got = dn_json_describe (n);
        return dn_run_state_fail (s, error,
                                  "\"%s\" is %s but must be a whole number from %" G_GINT64_FORMAT
                                  " to %" G_GINT64_FORMAT,
                                  name, got, min, max);
    }
    *out = json_node_get_int (n);
    return TRUE;
}

gboolean dn_run_state_double (const DnStateReader *s, const char *name, double min, double max,
                              gboolean null_ok, double *out, GError **error)
{
    JsonNode *n = member (s, name, error);
    if (n == NULL)
        return FALSE;
    if (null_ok && JSON_NODE_HOLDS_NULL (n)) {
        *out = NAN;
        return TRUE;
    }
    GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
    double v = t == G_TYPE_INT64 || t == G_TYPE_DOUBLE ? json_node_get_double (n) : NAN;
    if (!isfinite (v) || v < min || v > max) {
        g_autofree char *got = dn_json_describe (n);
        g_autofree char *range =
            min == -G_MAXDOUBLE && max == G_MAXDOUBLE ? g_strdup ("a finite number")
            : max == G_MAXDOUBLE                      ? g_strdup_printf ("a number >= %g", min)
                                 : g_strdup_printf ("a number from %g to %g", min, max);
        return dn_run_state_fail (s, error, "\"%s\" is %s but must be %s%s", name, got, range,
                                  null_ok ? ", or null" : "");
    }
    *out = v;
    return TRUE;
}

JsonArray *dn_run_state_array (const DnStateReader *s, const char *name, guint min_len,
                               guint max_len, GError **error)
{
    JsonNode *n = member (s, name, error);
    if (n == NULL)
        return NULL;
    if (!JSON_NODE_HOLDS_ARRAY (n)) {
        g_autofree char *got = dn_json_describe (n);
        dn_run_state_fail (s, error, "\"%s\" is %s but must be an array", name, got);
        return NULL;
    }
    JsonArray *a = json_node_get_array (n);
    guint len = json_array_get_length (a);
    if (len < min_len || len > max_len) {
        if (min_len == max_len)
            dn_run_state_fail (s, error, "\"%s\" has %u elements but must have %u", name, len,
                               min_len);
        else
            dn_run_state_fail (s, error, "\"%s\" has %u elements but must have %u to %u", name, len,
                               min_len, max_len);
        return NULL;
    }
    return a;
}

gboolean dn_run_state_rng (const DnStateReader *s, const char *name, guint64 out[4], GError **error)
{
    JsonArray *a = dn_run_state_array (s, name, 4, 4, error);
    if (a == NULL)
        return FALSE;
    guint64 any = 0;
    for (guint i = 0; i < 4; i++) {
        JsonNode *e = json_array_get_element (a, i);
        const char *h = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                            ? json_node_get_string (e)
                            : NULL;
        gboolean hex = h != NULL && strlen (h) == 16;
        for (int k = 0; hex && k < 16; k++)
            hex = g_ascii_isxdigit (h[k]);
        guint64 v = hex ? g_ascii_strtoull (h, NULL, 16) : 0;
        if (!hex) {
            return dn_run_state_fail (s, error,
                                      "element %u of \"%s\" must be a string of 16 hexadecimal "
                                      "digits",
                                      i, name);
        }
        out[i] = v;
        any |= v;
    }
    if (any == 0)
        return dn_run_state_fail (s, error, "\"%s\" is all zeros, which no generator reaches",
                                  name);
    return TRUE;
}
