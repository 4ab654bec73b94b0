/* dn-run-dir.h: the run folder, shared by every training loop.
 *
 * A run writes into a folder of its own, OUT/NAME, and holds it for its whole
 * life (and the life of a resume):
 *
 * - Choosing: a new run never writes into another run's folder. When OUT/NAME
 *   exists and is not empty, the run gets the next free numbered folder
 *   (NAME-2, NAME-3, ...). Overwrite clears OUT/NAME first, but only when it
 *   holds nothing but the files a run writes.
 * - Locking: `run.lock` in the folder records the pid and host of the process
 *   that runs in it, and an flock() on it says whether that process is alive:
 *   the kernel drops the lock when the process ends, kill -9 included, so a
 *   lock is never stale. flock() locks belong to an open file, so a second
 *   run in the same process is refused too.
 * - Temporaries: every file of a run folder is written atomically through
 *   dn_file_write_atomic() (dn_safetensors_write uses the same name), as
 *   FILE.tmp-XXXXXX renamed over FILE. A process killed while writing leaves
 *   that temporary; opening a folder to resume removes every one of them
 *   (after taking the lock: a live run's temporaries are never touched).
 * - Snapshots: the tables and the chart a tracker decision snapshots are
 *   named by the epoch and their number within the decision, not a clock,
 *   so names are unique and a resumed run names them as an uninterrupted one.
 */
#pragma once

#include "dn-file.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define DN_RUN_DIR_LOCK_FILE "run.lock"

typedef struct _DnRunDir DnRunDir;

/* A new run's folder under out_dir (created with its parents): out_dir/name,
 * or when that holds files, the first free out_dir/name-N (N = 2, 3, ...).
 * overwrite: out_dir/name itself, cleared first; refused when another process
 * runs in it or when it holds anything a run does not write. Locked. */
DnRunDir *dn_run_dir_create (const char *out_dir, const char *name, gboolean overwrite,
                             GError **error);
/* An existing run folder, to resume: locked, its stale temporaries removed;
 * refused when it has no latest.safetensors. */
DnRunDir *dn_run_dir_open (const char *path, GError **error);
const char *dn_run_dir_path (const DnRunDir *dir);
/* The folder that was asked for: differs from the path when a numbered one was
 * chosen because it held an earlier run. */
const char *dn_run_dir_requested (const DnRunDir *dir);
/* Releases the lock (run.lock stays, emptied). NULL is fine. */
void dn_run_dir_free (DnRunDir *dir);

/* TRUE when path is a folder holding anything but run.lock: a new run would go
 * beside it (NAME-2, ...) rather than into it. */
gboolean dn_run_dir_holds_run (const char *path);

/* Removes dir's stale temporaries; returns how many. Only for a folder whose
 * lock the caller holds. */
int dn_run_dir_remove_temporaries (const char *dir);
/* TRUE when another process (or another DnRunDir of this one) holds path's
 * lock; *holder (may be NULL) then gets "process PID on host HOST". */
gboolean dn_run_dir_is_locked (const char *path, char **holder);

/* The suffix of a tracker snapshot: `name`, with "_epoch<E>_<N>" before it when
 * numbered (E: epochs trained, from 1; N: the snapshot's number within that
 * epoch's decision, from 1). g_free. */
char *dn_run_dir_snapshot_suffix (const char *name, gboolean numbered, int epoch, int number);

/* A checkpoint's run state ("dendrite_run", "dendrite_continual_run"), read
 * member by member: each is type- and range-checked, and a damaged one is an
 * error naming the file, the metadata key and the member, never a critical. */
typedef struct {
    const char *file; /* for messages */
    const char *key;
    JsonNode *root;
    JsonObject *o;
    const char *remedy; /* NULL: a checkpoint's state; else what fixes a damaged model */
} DnStateReader;

/* text NULL: the key is missing. Clear with dn_run_state_clear even on failure. */
gboolean dn_run_state_init (DnStateReader *s, const char *file, const char *key, const char *text,
                            GError **error);
/* The same for a saved model's metadata that is read, not resumed: a damaged member is
 * "FILE: the model metadata "KEY" is damaged: WHAT; REMEDY". */
gboolean dn_run_state_init_model (DnStateReader *s, const char *file, const char *key,
                                  const char *text, const char *remedy, GError **error);
void dn_run_state_clear (DnStateReader *s);
/* A whole number in [min, max]. */
gboolean dn_run_state_int (const DnStateReader *s, const char *member, gint64 min, gint64 max,
                           gint64 *out, GError **error);
/* A finite number in [min, max], or with null_ok a null (NAN). */
gboolean dn_run_state_double (const DnStateReader *s, const char *member, double min, double max,
                              gboolean null_ok, double *out, GError **error);
/* An array of length [min_len, max_len]. */
JsonArray *dn_run_state_array (const DnStateReader *s, const char *member, guint min_len,
                               guint max_len, GError **error);
/* Four hexadecimal 64-bit words, not all zero (a generator state). */
gboolean dn_run_state_rng (const DnStateReader *s, const char *member, guint64 out[4],
                           GError **error);
/* Sets the run-state error: "FILE: the run state (KEY) is damaged: WHAT; ...". */
gboolean dn_run_state_fail (const DnStateReader *s, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnRunDir, dn_run_dir_free)

G_END_DECLS
