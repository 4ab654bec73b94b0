/* dn-file.h: files written whole or not at all.
 *
 * Every file the engine, the report writers and the app save goes through
 * dn_file_write_atomic(): the bytes go to PATH.tmp-XXXXXX, are synced, and the
 * temporary is renamed over PATH, so a reader (or a run resumed after a kill)
 * sees the old file or the new one. dn_file_is_temporary() recognises what a
 * killed writer leaves behind, so a run folder can clear it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "PATH.tmp-XXXXXX", a template for g_mkstemp(). g_free. */
char *dn_file_temp_template (const char *path);
/* TRUE for a file name made from dn_file_temp_template() (or the
 * "NAME.XXXXXX" of g_file_set_contents, which earlier versions used). */
gboolean dn_file_is_temporary (const char *name);
/* Writes len bytes to path through a synced temporary renamed over it: a reader
 * sees the old file or the new one, and a failed write leaves no temporary. */
gboolean dn_file_write_atomic (const char *path, const void *data, gsize len, GError **error);
/* The two halves of dn_file_write_atomic(), for a writer that writes in
 * pieces: open makes the temporary next to path (its name in *tmp) and returns
 * its descriptor, or -1 with error set. commit takes ok (whether every write
 * went through, errno telling why not), syncs, closes and renames the
 * temporary over path, or removes it; it frees tmp either way. */
int dn_file_atomic_open (const char *path, char **tmp, GError **error);
gboolean dn_file_atomic_commit (int fd, char *tmp, const char *path, gboolean ok, GError **error);
/* A commit whose sync, close and rename run on a thread of their own, so that a
 * writer (the run's `latest` checkpoint) goes on while the disk catches up. */
typedef struct _DnFileCommit DnFileCommit;
/* dn_file_atomic_commit() started on its own thread: returns at once with the
 * commit in *pending, which dn_file_commit_finish() must be given. When ok is
 * FALSE or no thread can start, it commits (or cleans up) here, sets *pending to
 * NULL and returns what dn_file_atomic_commit() would. Until the commit is
 * finished, path holds its old contents or the new ones. */
gboolean dn_file_atomic_commit_start (int fd, char *tmp, const char *path, gboolean ok,
                                      DnFileCommit **pending, GError **error);
/* Waits for a started commit, frees it and reports what dn_file_atomic_commit()
 * would have (TRUE for NULL). */
gboolean dn_file_commit_finish (DnFileCommit *c, GError **error);
/* Writes all of data to fd, going on after EINTR and short writes; FALSE with errno set. */
gboolean dn_file_write_all (int fd, const char *data, gsize len);

G_END_DECLS
