/* dn-run-base.c: what both schedules set up and write alike (dn-run-private.h). */
#include "dn-error.h"
#include "dn-json.h"
#include "dn-run-private.h"

#include <math.h>
#include <string.h>

void _dn_run_base_init (DnRunBase *b, DnExperiment *exp, const DnRunOptions *opts,
                        const DnObserver *obs)
{
    memset (b, 0, sizeof *b);
    b->exp = exp;
    b->opts = opts;
    b->obs = obs;
    b->seed = opts->seed_set ? opts->seed : exp->seed;
}

void _dn_run_base_clear (DnRunBase *b)
{
    g_clear_pointer (&b->step, dn_run_step_free);
    g_clear_pointer (&b->opt, dn_optimizer_free);
    g_clear_pointer (&b->net, dn_network_free);
    dn_run_data_clear (&b->d);
    g_clear_pointer (&b->run_dir, g_free);
    g_clear_pointer (&b->dir, dn_run_dir_free);
}

gboolean _dn_run_base_setup (DnRunBase *b, GError **error)
{
    const DnRunOptions *opts = b->opts;
    dn_backend_cpu_set_threads (opts->threads > 0 ? opts->threads : 0);
    b->be = dn_backend_by_name (opts->device ? opts->device : b->exp->device, error);
    return b->be != NULL && dn_load_data (b->exp, opts, b->seed, b->obs, &b->d, error);
}

gboolean _dn_run_base_setup_step (DnRunBase *b, int capacity, float label_smoothing, GError **error)
{
    DnShape out = dn_network_output_shape (b->net);
    b->step = dn_run_step_new (b->be, (gsize) dn_shape_numel (&b->d.train->shape),
                               (int) dn_shape_numel (&out), capacity, b->exp->loss, label_smoothing,
                               error);
    return b->step != NULL && dn_network_reserve (b->net, capacity, error);
}

gboolean _dn_run_base_create_folder (DnRunBase *b, int epochs, GError **error)
{
    DnExperiment *exp = b->exp;
    const DnRunOptions *opts = b->opts;
    b->dir = dn_run_dir_create (opts->out_dir ? opts->out_dir : exp->out_dir, exp->name,
                                opts->overwrite, error);
    if (b->dir == NULL)
        return FALSE;
    b->run_dir = g_strdup (dn_run_dir_path (b->dir));
    if (!g_str_equal (b->run_dir, dn_run_dir_requested (b->dir)))
        dn_emit_log (b->obs,
                     "%s holds an earlier run; this run goes to %s (overwrite replaces the "
                     "earlier run, resume continues it)",
                     dn_run_dir_requested (b->dir), b->run_dir);
    /* The copy describes the run that happens: command-line overrides included. */
    g_autofree char *copy = g_build_filename (b->run_dir, "experiment.json", NULL);
    int saved_epochs = exp->epochs;
    guint64 saved_seed = exp->seed;
    char *saved_data = exp->data_path;
    g_autofree char *resolved = opts->data_path != NULL
                                    ? g_strdup (opts->data_path)
                                    : dn_experiment_resolve_path (exp, exp->data_path);
    g_autofree char *absolute = resolved != NULL ? g_canonicalize_filename (resolved, NULL) : NULL;
    exp->epochs = epochs;
    exp->seed = b->seed;
    exp->data_path = absolute;
    gboolean saved = dn_experiment_save (exp, copy, error);
    exp->epochs = saved_epochs;
    exp->seed = saved_seed;
    exp->data_path = saved_data;
    return saved;
}

DnSafetensors *_dn_run_base_open_folder (DnRunBase *b, const char *run_dir, GError **error)
{
    /* locked before anything is read or removed */
    b->dir = dn_run_dir_open (run_dir, error);
    if (b->dir == NULL)
        return NULL;
    b->run_dir = g_strdup (run_dir);
    g_autofree char *latest = _dn_run_base_path (b, "latest");
    return dn_safetensors_open (latest, error);
}

char *_dn_run_base_path (const DnRunBase *b, const char *name)
{
    g_autofree char *file = g_strdup_printf ("%s.safetensors", name);
    return g_build_filename (b->run_dir, file, NULL);
}

gboolean _dn_run_base_cancelled (const DnRunBase *b)
{
    return b->obs != NULL && b->obs->cancel != NULL && g_atomic_int_get (b->obs->cancel);
}

GHashTable *_dn_run_base_metadata (const DnRunBase *b)
{
    GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert (meta, g_strdup ("dendrite_normalize"), dn_normalize_json (&b->d.norm));
    DnClassList classes;
    dn_dataset_classes (b->d.train, &classes);
    g_hash_table_insert (meta, g_strdup ("dendrite_classes"),
                         dn_class_list_to_json (&classes, b->exp->label_column));
    return meta;
}

GString *_dn_run_state_begin (const DnRunBase *b, const char *counter, int value)
{
    GString *s = g_string_new (NULL);
    g_string_append_printf (s,
                            "{\"%s\":%d,\"seed\":%" G_GUINT64_FORMAT
                            ",\"rng\":[\"%016" G_GINT64_MODIFIER "x\",\"%016" G_GINT64_MODIFIER
                            "x\",\"%016" G_GINT64_MODIFIER "x\",\"%016" G_GINT64_MODIFIER "x\"]",
                            counter, value, b->seed, (guint64) b->rng.s[0], (guint64) b->rng.s[1],
                            (guint64) b->rng.s[2], (guint64) b->rng.s[3]);
    return s;
}

void _dn_run_state_append_number (GString *s, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append (s, isfinite (v) ? g_ascii_dtostr (buf, sizeof buf, v) : "null");
}

void _dn_run_state_add_number (GString *s, const char *key, double v)
{
    g_string_append_printf (s, ",\"%s\":", key);
    _dn_run_state_append_number (s, v);
}

gboolean _dn_run_state_read_seed (const DnStateReader *st, guint64 *seed, guint64 rng[4],
                                  GError **error)
{
    gint64 value = 0;
    if (!dn_run_state_int (st, "seed", 0, G_MAXINT64, &value, error) ||
        !dn_run_state_rng (st, "rng", rng, error))
        return FALSE;
    *seed = (guint64) value;
    return TRUE;
}
