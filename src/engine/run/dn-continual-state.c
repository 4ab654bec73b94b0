/* dn-continual-state.c: what a continual run writes and reads back
 * (dn-continual-private.h): the "dendrite_continual" metadata of its model files,
 * latest.safetensors after every task (the checkpoint --resume goes on from) and
 * the profile of where the time went. */
#include "dn-continual-private.h"
#include "dn-error.h"
#include "dn-json.h"

#include <math.h>
#include <string.h>

GHashTable *_dn_continual_metadata (DnContinualRun *c)
{
    GHashTable *meta = _dn_run_base_metadata (&c->b);
    GString *s = g_string_new (NULL);
    g_string_append_printf (s,
                            "{\"tasks\":%d,\"permutation_seed\":%" G_GUINT64_FORMAT
                            ",\"context\":\"%s\",\"prototypes\":[",
                            c->T, c->cfg->permutation_seed, dn_context_kind_name (c->cfg->context));
    for (int t = 0; t < c->T && c->cfg->context == DN_CONTEXT_PROTOTYPE; t++) {
        g_string_append (s, t ? ",[" : "[");
        for (int i = 0; i < c->npix; i++) {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            g_string_append (s, i ? "," : "");
            g_string_append (
                s, g_ascii_formatd (buf, sizeof buf, "%.7g", c->protos[(size_t) t * c->npix + i]));
        }
        g_string_append (s, "]");
    }
    g_string_append (s, "]}");
    g_hash_table_insert (meta, g_strdup ("dendrite_continual"), g_string_free (s, FALSE));
    return meta;
}

#define DAMAGED_MODEL "evaluate an undamaged copy of the model, or save it again from its run"

/* A damaged model is an error naming the file and the member, never a critical or a read
 * past the prototypes. */
gboolean _dn_continual_read_metadata (DnStateReader *rd, const char *what, const char *text,
                                      DnNetwork *net, int npix, DnContinualConfig *cfg,
                                      JsonArray **protos, GError **error)
{
    gint64 tasks = 0, seed = 0;
    if (!dn_run_state_init_model (rd, what, "dendrite_continual", text, DAMAGED_MODEL, error) ||
        !dn_run_state_int (rd, "tasks", 1, DN_CONTINUAL_MAX_TASKS, &tasks, error) ||
        !dn_run_state_int (rd, "permutation_seed", 0, G_MAXINT64, &seed, error))
        return FALSE;
    cfg->tasks = (int) tasks;
    cfg->permutation_seed = (guint64) seed;
    JsonNode *ctx = json_object_get_member (rd->o, "context");
    const char *name = ctx != NULL && JSON_NODE_HOLDS_VALUE (ctx) &&
                               json_node_get_value_type (ctx) == G_TYPE_STRING
                           ? json_node_get_string (ctx)
                           : NULL;
    int kind = DN_CONTEXT_PROTOTYPE;
    while (name != NULL && kind <= DN_CONTEXT_NONE &&
           !g_str_equal (name, dn_context_kind_name (kind)))
        kind++;
    if (name == NULL || kind > DN_CONTEXT_NONE) {
        g_autofree char *got = ctx != NULL ? dn_json_describe (ctx) : g_strdup ("missing");
        return dn_run_state_fail (rd, error,
                                  "\"context\" is %s but must be \"prototype\", \"task_id\" or "
                                  "\"none\"",
                                  got);
    }
    cfg->context = (DnContextKind) kind;
    /* the network's contexts must be as wide as the ones this context kind feeds it */
    int want = kind == DN_CONTEXT_PROTOTYPE ? npix : kind == DN_CONTEXT_TASK_ID ? cfg->tasks : 0;
    int have = dn_network_context_dim (net);
    if (have != 0 && have != want)
        return dn_run_state_fail (rd, error,
                                  "the network reads contexts of %d values but the \"%s\" "
                                  "context of %d tasks gives %d",
                                  have, name, cfg->tasks, want);
    guint rows = kind == DN_CONTEXT_PROTOTYPE ? (guint) cfg->tasks : 0;
    *protos = dn_run_state_array (rd, "prototypes", rows, rows, error);
    if (*protos == NULL)
        return FALSE;
    for (guint t = 0; t < rows; t++) {
        JsonNode *row = json_array_get_element (*protos, t);
        if (!JSON_NODE_HOLDS_ARRAY (row) ||
            json_array_get_length (json_node_get_array (row)) != (guint) npix)
            return dn_run_state_fail (rd, error,
                                      "prototype %u is not an array of %d numbers, one per "
                                      "pixel of the test images",
                                      t, npix);
        JsonArray *a = json_node_get_array (row);
        for (int i = 0; i < npix; i++) {
            JsonNode *e = json_array_get_element (a, i);
            GType type = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;
            if ((type != G_TYPE_INT64 && type != G_TYPE_DOUBLE) ||
                !isfinite (json_node_get_double (e))) {
                g_autofree char *got = dn_json_describe (e);
                return dn_run_state_fail (rd, error,
                                          "value %d of prototype %u is %s but must be a finite "
                                          "number",
                                          i, t, got);
            }
        }
    }
    return TRUE;
}

/* ---- checkpoints: latest.safetensors after every task, for --resume ---- */

/* "task_seconds":[...] */
static void add_task_seconds (GString *s, const GArray *task_seconds)
{
    g_string_append (s, "\"task_seconds\":[");
    for (guint i = 0; task_seconds != NULL && i < task_seconds->len; i++) {
        g_string_append (s, i ? "," : "");
        _dn_run_state_append_number (s, g_array_index (task_seconds, double, i));
    }
    g_string_append_c (s, ']');
}

static char *run_state_json (DnContinualRun *c, int next_task, double elapsed)
{
    GString *s = _dn_run_state_begin (&c->b, "next_task", next_task);
    _dn_run_state_add_number (s, "seconds", elapsed);
    g_string_append (s, ",\"matrix\":[");
    for (size_t i = 0; i < (size_t) c->T * c->T; i++) {
        g_string_append (s, i ? "," : "");
        _dn_run_state_append_number (s, c->matrix[i]);
    }
    g_string_append (s, "],");
    add_task_seconds (s, c->task_seconds);
    g_string_append_c (s, '}');
    return g_string_free (s, FALSE);
}

/* SI state first (latest_si.safetensors), then latest.safetensors; both name the
 * task they follow, so a kill between the two is detected on resume. */
gboolean _dn_continual_save_latest (DnContinualRun *c, int next_task, double elapsed,
                                    GError **error)
{
    g_autofree char *tag = g_strdup_printf ("%d", next_task);
    if (c->cfg->si) {
        g_autofree char *si_path = _dn_run_base_path (&c->b, "latest_si");
        DnShape sh = dn_shape_1d ((int64_t) c->si_n);
        DnStWrite t[4] = {{"omega", sh, c->si_omega},
                          {"big_omega", sh, c->si_big_omega},
                          {"theta_star", sh, c->si_star},
                          {"theta_prev", sh, c->si_prev}};
        g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
        g_hash_table_insert (meta, (gpointer) "dendrite_next_task", tag);
        if (!dn_safetensors_write (si_path, t, 4, meta, error))
            return FALSE;
    }
    g_autofree char *path = _dn_run_base_path (&c->b, "latest");
    g_autoptr (GHashTable) meta = _dn_continual_metadata (c);
    g_hash_table_insert (meta, g_strdup ("dendrite_continual_run"),
                         run_state_json (c, next_task, elapsed));
    /* An optimizer that has not stepped yet (just reset) has all-zero state, and
     * after the last task none is needed: the file then says so instead of holding
     * it (over twice the weights with Adam), and resume makes a new one. */
    gboolean fresh = dn_optimizer_steps (c->b.opt) == 0 || next_task >= c->T;
    if (!fresh)
        _dn_continual_idle_settle (c);
    if (fresh)
        g_hash_table_insert (meta, g_strdup ("dendrite_optimizer_fresh"), g_strdup ("1"));
    return dn_model_save_checkpoint (c->b.net, fresh ? NULL : c->b.opt, path, meta, error);
}

/* latest.safetensors after every task while writing it is cheap; when it is not
 * (a 100-segment network writes over a gigabyte), only once at least nine times
 * its writing time has passed since the last, so it costs at most a tenth of the
 * run. The first task and the last are always saved. */
gboolean _dn_continual_maybe_save_latest (DnContinualRun *c, int next_task, gint64 start,
                                          GError **error)
{
    gint64 now = g_get_monotonic_time ();
    double since_last = (now - c->last_save_end) / 1e6;
    if (c->last_save_end != 0 && next_task < c->T && since_last < 9.0 * c->last_save_secs) {
        if (!c->save_skip_logged)
            dn_emit_log (c->b.obs,
                         "latest.safetensors took %.1f s to write; it is now written every "
                         "%.0f s or more (not after every task), so that saving stays under a "
                         "tenth of the run; --resume goes on from the last one written",
                         c->last_save_secs, 9.0 * c->last_save_secs);
        c->save_skip_logged = TRUE;
        return TRUE;
    }
    if (!_dn_continual_save_latest (c, next_task, (now - start) / 1e6, error))
        return FALSE;
    c->saved_next_task = next_task;
    c->last_save_end = g_get_monotonic_time ();
    c->last_save_secs = (c->last_save_end - now) / 1e6;
    return TRUE;
}

void _dn_continual_state_clear (DnContinualState *s)
{
    g_clear_pointer (&s->matrix, g_free);
    g_clear_pointer (&s->task_seconds, g_array_unref);
}

gboolean _dn_continual_state_read (DnSafetensors *st, const char *path, int T,
                                   DnContinualState *out, GError **error)
{
    DnStateReader rs;
    gint64 next_task = 0;
    gboolean ok =
        dn_run_state_init (&rs, path, "dendrite_continual_run",
                           dn_safetensors_metadata (st, "dendrite_continual_run"), error) &&
        dn_run_state_int (&rs, "next_task", 1, T, &next_task, error) &&
        _dn_run_state_read_seed (&rs, &out->seed, out->rng, error) &&
        dn_run_state_double (&rs, "seconds", 0.0, G_MAXDOUBLE, FALSE, &out->elapsed, error);
    JsonArray *m =
        ok ? dn_run_state_array (&rs, "matrix", (guint) T * T, (guint) T * T, error) : NULL;
    JsonArray *ts =
        m != NULL ? dn_run_state_array (&rs, "task_seconds", 0, (guint) T, error) : NULL;
    ok = ts != NULL;
    if (ok) {
        out->next_task = (int) next_task;
        out->matrix = g_new (double, (size_t) T *T);
        out->task_seconds = g_array_new (FALSE, FALSE, sizeof (double));
    }
    for (guint i = 0; ok && i < (guint) T * T; i++) {
        JsonNode *e = json_array_get_element (m, i);
        GType t = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;
        double v = t == G_TYPE_INT64 || t == G_TYPE_DOUBLE ? json_node_get_double (e) : NAN;
        if (JSON_NODE_HOLDS_NULL (e))
            out->matrix[i] = NAN;
        else if (isfinite (v) && v >= 0.0 && v <= 100.0)
            out->matrix[i] = v;
        else
            ok = dn_run_state_fail (&rs, error,
                                    "element %u of \"matrix\" must be a percentage from 0 to "
                                    "100, or null",
                                    i);
    }
    for (guint i = 0; ok && i < json_array_get_length (ts); i++) {
        JsonNode *e = json_array_get_element (ts, i);
        GType t = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;
        double v = t == G_TYPE_INT64 || t == G_TYPE_DOUBLE ? json_node_get_double (e) : NAN;
        if (isfinite (v) && v >= 0.0)
            g_array_append_val (out->task_seconds, v);
        else
            ok = dn_run_state_fail (&rs, error,
                                    "element %u of \"task_seconds\" must be a number of seconds "
                                    ">= 0",
                                    i);
    }
    dn_run_state_clear (&rs);
    if (!ok)
        _dn_continual_state_clear (out);
    return ok;
}

gboolean _dn_continual_load_latest (DnContinualRun *c, const DnContinualState *state,
                                    int *next_task, double *elapsed, GError **error)
{
    g_autofree char *path = _dn_run_base_path (&c->b, "latest");
    g_autoptr (DnSafetensors) st = dn_safetensors_open (path, error);
    gboolean fresh = st != NULL &&
                     g_strcmp0 (dn_safetensors_metadata (st, "dendrite_optimizer_fresh"), "1") == 0;
    if (st == NULL || !dn_model_load_weights (c->b.net, st, path, error) ||
        (!fresh && !dn_model_load_optimizer (st, c->b.opt, path, error)))
        return FALSE;
    memcpy (c->b.rng.s, state->rng, sizeof c->b.rng.s);
    memcpy (c->matrix, state->matrix, (size_t) c->T * c->T * sizeof (double));
    g_array_append_vals (c->task_seconds, state->task_seconds->data, state->task_seconds->len);
    *next_task = state->next_task;
    *elapsed = state->elapsed;
    /* Every segment row may carry optimizer state: all live is exact (rows with
     * zero state and gradient do not move), only slower until the next reset. A
     * fresh optimizer has none. */
    if (!fresh)
        dn_network_mark_all_live (c->b.net);
    if (c->cfg->si) {
        g_autofree char *si_path = _dn_run_base_path (&c->b, "latest_si");
        g_autoptr (DnSafetensors) si = dn_safetensors_open (si_path, error);
        if (si == NULL)
            return FALSE;
        const char *tag = dn_safetensors_metadata (si, "dendrite_next_task");
        g_autofree char *want = g_strdup_printf ("%d", *next_task);
        if (g_strcmp0 (tag, want) != 0) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s and %s were written after different tasks (the run was killed "
                         "while saving); start the run again",
                         si_path, path);
            return FALSE;
        }
        float *dst[4] = {c->si_omega, c->si_big_omega, c->si_star, c->si_prev};
        const char *names[4] = {"omega", "big_omega", "theta_star", "theta_prev"};
        for (int i = 0; i < 4; i++) {
            DnStTensor *t = NULL;
            for (guint k = 0; t == NULL && k < si->tensors->len; k++)
                if (g_str_equal (((DnStTensor *) si->tensors->pdata[k])->name, names[i]))
                    t = si->tensors->pdata[k];
            if (t == NULL || dn_shape_numel (&t->shape) != (int64_t) c->si_n) {
                g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                             "%s: \"%s\" is missing or has the wrong size", si_path, names[i]);
                return FALSE;
            }
            /* converted one at a time: an allocation failure is its own error */
            const float *data = dn_safetensors_tensor_data (si, t, error);
            if (data == NULL)
                return FALSE;
            memcpy (dst[i], data, c->si_n * sizeof (float));
            dn_safetensors_tensor_release (si, t);
        }
    }
    return TRUE;
}

char *_dn_continual_profile_json (DnContinualRun *c)
{
    double segments = 0.0, kwta = 0.0, dense = 0.0, other = 0.0;
    for (int i = 0; i < dn_network_n_nodes (c->b.net); i++) {
        DnLayer *l = dn_network_node (c->b.net, i)->layer;
        double both = l->prof_seconds[0] + l->prof_seconds[1];
        if (g_getenv ("DN_PROFILE_LAYERS") != NULL)
            dn_emit_log (c->b.obs, "%-8s %-16s forward %.2f s, backward %.2f s, segments %.2f s",
                         dn_network_node (c->b.net, i)->name, l->klass->type, l->prof_seconds[0],
                         l->prof_seconds[1], l->prof_seconds[2]);
        const char *type = l->klass->type;
        if (g_str_equal (type, "active_dendrite") || g_str_equal (type, "sparse_linear") ||
            g_str_equal (type, "linear")) {
            segments += l->prof_seconds[2];
            dense += both - l->prof_seconds[2];
        } else if (g_str_equal (type, "kwta")) {
            kwta += both;
        } else {
            other += both;
        }
    }
    GString *s = g_string_new ("{");
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
#define PUT(k, v) g_string_append_printf (s, "\"%s\":%s,", k, g_ascii_dtostr (buf, sizeof buf, v))
    PUT ("segments", segments);
    PUT ("kwta", kwta);
    PUT ("dense", dense);
    PUT ("other_layers", other);
    PUT ("optimizer", c->t_opt);
    PUT ("loss", c->b.step != NULL ? c->b.step->loss_seconds : 0.0);
    PUT ("data", c->t_data + (c->b.step != NULL ? c->b.step->upload_seconds : 0.0));
    PUT ("evaluation", c->t_eval);
    PUT ("total", c->seconds);
    /* segment-row updates left out as idle, of all tracked rows times steps */
    PUT ("idle_row_steps", (double) c->idle_row_steps);
    PUT ("row_steps", (double) c->row_steps);
#undef PUT
    add_task_seconds (s, c->task_seconds);
    g_string_append_c (s, '}');
    return g_string_free (s, FALSE);
}
