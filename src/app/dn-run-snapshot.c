/* dn-run-snapshot.c: immutable run pictures and the tracker copies they share. */
#include "dn-run-snapshot.h"

#include "dn-error.h"
#include "dn-safetensors.h"

#include <glib/gi18n.h>
#include <math.h>

struct _DnSharedTracker {
    DnTracker *tracker;
};

static void shared_clear (gpointer p)
{
    DnSharedTracker *st = p;
    dn_tracker_free (st->tracker);
}

DnSharedTracker *dn_shared_tracker_new (DnTracker *tracker)
{
    DnSharedTracker *st = g_atomic_rc_box_new0 (DnSharedTracker);
    st->tracker = tracker;
    return st;
}

DnSharedTracker *dn_shared_tracker_ref (DnSharedTracker *st)
{
    return st != NULL ? g_atomic_rc_box_acquire (st) : NULL;
}

void dn_shared_tracker_unref (DnSharedTracker *st)
{
    if (st != NULL)
        g_atomic_rc_box_release_full (st, shared_clear);
}

const DnTracker *dn_shared_tracker_get (DnSharedTracker *st)
{
    return st != NULL ? st->tracker : NULL;
}

DnRunSnapshot *dn_run_snapshot_new (void)
{
    DnRunSnapshot *s = g_atomic_rc_box_new0 (DnRunSnapshot);
    s->best_val = NAN;
    s->test_at_best = NAN;
    s->val_acc = NAN;
    s->test_acc = NAN;
    s->log = g_ptr_array_new_with_free_func (g_free);
    return s;
}

DnRunSnapshot *dn_run_snapshot_ref (DnRunSnapshot *s)
{
    return g_atomic_rc_box_acquire (s);
}

static void snapshot_clear (gpointer p)
{
    DnRunSnapshot *s = p;
    g_free (s->status);
    g_free (s->run_dir);
    g_free (s->device);
    g_free (s->model_path);
    g_free (s->summary);
    g_free (s->error);
    g_ptr_array_unref (s->log);
    dn_shared_tracker_unref (s->shared);
}

void dn_run_snapshot_unref (DnRunSnapshot *s)
{
    if (s != NULL)
        g_atomic_rc_box_release_full (s, snapshot_clear);
}

const DnTracker *dn_run_snapshot_get_tracker (const DnRunSnapshot *s)
{
    return s != NULL ? dn_shared_tracker_get (s->shared) : NULL;
}

G_DEFINE_BOXED_TYPE (DnRunSnapshot, dn_run_snapshot, dn_run_snapshot_ref, dn_run_snapshot_unref)

static double json_number (JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member (o, key);
    return n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : NAN;
}

DnRunSnapshot *dn_run_snapshot_new_from_folder (const char *run_dir, GError **error)
{
    g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
    g_autoptr (DnSafetensors) st = dn_safetensors_read (latest, error);
    if (st == NULL)
        return NULL;
    g_autoptr (DnRunSnapshot) s = dn_run_snapshot_new ();
    s->run_dir = g_strdup (run_dir);
    const char *tracker = dn_safetensors_metadata (st, "dendrite_tracker");
    if (tracker != NULL) {
        DnTracker *t = dn_tracker_state_from_string (tracker, error);
        if (t == NULL)
            return NULL;
        s->shared = dn_shared_tracker_new (t);
        s->dendritic = TRUE;
        s->dendrites = dn_tracker_dendrites (t);
        s->status = dn_tracker_status_text (t);
    }
    const char *run = dn_safetensors_metadata (st, "dendrite_run");
    g_autoptr (JsonParser) p = json_parser_new ();
    if (run != NULL && json_parser_load_from_data (p, run, -1, NULL) &&
        JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
        JsonObject *o = json_node_get_object (json_parser_get_root (p));
        s->epoch = (int) json_object_get_int_member_with_default (o, "epoch", 0);
        s->best_val = json_number (o, "best_val");
        s->test_at_best = json_number (o, "test_at_best");
        s->best_epoch = (int) json_object_get_int_member_with_default (o, "best_epoch", 0);
        if (!isfinite (s->best_val))
            s->best_val = NAN;
    }
    g_autofree char *best = g_build_filename (run_dir, "best_model.safetensors", NULL);
    if (g_file_test (best, G_FILE_TEST_EXISTS))
        s->model_path = g_steal_pointer (&best);
    const DnTracker *t = dn_run_snapshot_get_tracker (s);
    s->state = t != NULL && dn_tracker_is_complete (t) ? DN_RUN_FINISHED : DN_RUN_STOPPED;
    return g_steal_pointer (&s);
}
