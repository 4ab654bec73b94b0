/* dn-continual-config.c: the "continual" section of an experiment file and the
 * task permutations. */
#include "dn-continual-config.h"
#include "dn-config-reader.h"
#include "dn-error.h"
#include "dn-rng.h"

#include <string.h>

static const char *const context_names[] = {"prototype", "task_id", "none", NULL};

const char *dn_context_kind_name (DnContextKind kind)
{
    return context_names[kind];
}

void dn_continual_config_defaults (DnContinualConfig *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->tasks = 2;
    cfg->permutation_seed = 42;
    cfg->epochs_per_task = 1;
    cfg->context = DN_CONTEXT_PROTOTYPE;
    cfg->reset_optimizer = TRUE;
    cfg->drop_last = TRUE;
    cfg->eval_batch_size = 512;
    cfg->si_c = 0.1;
    cfg->si_xi = 0.1;
    cfg->si_first_task = 2;
    cfg->activity_samples = 5000;
}

void dn_continual_config_clear (DnContinualConfig *cfg)
{
    g_clear_pointer (&cfg->eval_after, g_free);
    g_clear_pointer (&cfg->activity_layer, g_free);
    cfg->n_eval_after = 0;
}

void dn_continual_config_copy (DnContinualConfig *dst, const DnContinualConfig *src)
{
    *dst = *src;
    dst->eval_after = src->n_eval_after > 0 ? g_memdup2 (src->eval_after, sizeof (int) * src->n_eval_after)
                                            : NULL;
    dst->activity_layer = g_strdup (src->activity_layer);
}

/* "evaluate_after": "every_task" (the default), or the tasks after which to evaluate. */
static gboolean read_eval_after (DnFieldReader *r, DnContinualConfig *cfg)
{
    JsonNode *n = dn_fields_member (r, "evaluate_after");
    if (n == NULL)
        return TRUE;
    if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING &&
        g_str_equal (json_node_get_string (n), "every_task")) {
        g_clear_pointer (&cfg->eval_after, g_free);
        cfg->n_eval_after = 0;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_ARRAY (n))
        return dn_fields_fail (r, "evaluate_after",
                               "\"every_task\" or an array of 0-based task numbers after which to "
                               "evaluate, such as [1, 4, 9]");
    guint len = json_array_get_length (json_node_get_array (n));
    g_autofree int *tasks = g_new (int, MAX (len, 1));
    int n_tasks = 0;
    if (!dn_fields_int_list (r, "evaluate_after", 0, DN_CONTINUAL_MAX_TASKS - 1, 1, G_MAXINT, FALSE,
                             tasks, &n_tasks))
        return FALSE;
    g_free (cfg->eval_after);
    cfg->eval_after = g_steal_pointer (&tasks);
    cfg->n_eval_after = n_tasks;
    return TRUE;
}

/* "synaptic_intelligence": true, false, or its settings (which turn it on). */
static gboolean read_si (DnFieldReader *r, DnContinualConfig *cfg)
{
    JsonNode *n = dn_fields_member (r, "synaptic_intelligence");
    if (n == NULL)
        return TRUE;
    if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN)
        return dn_fields_bool (r, "synaptic_intelligence", &cfg->si);
    if (!JSON_NODE_HOLDS_OBJECT (n))
        return dn_fields_fail (r, "synaptic_intelligence",
                               "an object such as {\"c\": 0.1, \"xi\": 0.1}, true or false");
    static const char *const known[] = {"c", "xi", "first_task", NULL};
    DnFieldReader si;
    if (!dn_fields_object (r, "synaptic_intelligence", &si) || !dn_fields_check_keys (&si, known) ||
        !dn_fields_number (&si, "c", 0.0, 1e6, &cfg->si_c) ||
        !dn_fields_number (&si, "xi", 1e-12, 1e6, &cfg->si_xi) ||
        !dn_fields_int (&si, "first_task", 0, DN_CONTINUAL_MAX_TASKS, &cfg->si_first_task))
        return FALSE;
    cfg->si = TRUE;
    return TRUE;
}

gboolean dn_continual_config_from_json (JsonObject *obj, DnContinualConfig *cfg, const char *what,
                                        GError **error)
{
    static const char *const known[] = {
        "tasks",           "permutation_seed", "epochs_per_task",
        "context",         "reset_optimizer",  "drop_last",
        "eval_batch_size", "evaluate_after",   "synaptic_intelligence",
        "activity_layer",  "activity_samples", NULL};
    g_auto (DnFieldReader) r =
        dn_fields_reader (obj, what, "continual", DN_FIELDS_NULL_IS_ABSENT, error);
    gint64 seed = (gint64) cfg->permutation_seed;
    int context = cfg->context;
    g_autofree char *activity_layer = NULL;
    if (!dn_fields_check_keys (&r, known) ||
        !dn_fields_int (&r, "tasks", 1, DN_CONTINUAL_MAX_TASKS, &cfg->tasks) ||
        !dn_fields_int64 (&r, "permutation_seed", 0, G_MAXINT64, &seed) ||
        !dn_fields_int (&r, "epochs_per_task", 1, 100000, &cfg->epochs_per_task) ||
        !dn_fields_int (&r, "eval_batch_size", 1, 1 << 16, &cfg->eval_batch_size) ||
        !dn_fields_int (&r, "activity_samples", 0, 1 << 24, &cfg->activity_samples) ||
        !dn_fields_bool (&r, "reset_optimizer", &cfg->reset_optimizer) ||
        !dn_fields_bool (&r, "drop_last", &cfg->drop_last) ||
        !dn_fields_enum (&r, "context", context_names, NULL, &context) ||
        !read_eval_after (&r, cfg) || !read_si (&r, cfg) ||
        !dn_fields_string (&r, "activity_layer", &activity_layer))
        return FALSE;
    cfg->permutation_seed = (guint64) seed;
    cfg->context = (DnContextKind) context;
    if (activity_layer != NULL) {
        g_autofree char *name_what = g_strdup_printf ("%s: \"continual\".\"activity_layer\"", what);
        if (!dn_check_name (activity_layer, FALSE, name_what, error))
            return FALSE;
        g_free (cfg->activity_layer);
        cfg->activity_layer = g_steal_pointer (&activity_layer);
    }
    return TRUE;
}

void dn_continual_config_add_members (const DnContinualConfig *cfg, JsonBuilder *b)
{
    json_builder_set_member_name (b, "tasks");
    json_builder_add_int_value (b, cfg->tasks);
    json_builder_set_member_name (b, "permutation_seed");
    json_builder_add_int_value (b, (gint64) cfg->permutation_seed);
    json_builder_set_member_name (b, "epochs_per_task");
    json_builder_add_int_value (b, cfg->epochs_per_task);
    json_builder_set_member_name (b, "context");
    json_builder_add_string_value (b, context_names[cfg->context]);
    json_builder_set_member_name (b, "reset_optimizer");
    json_builder_add_boolean_value (b, cfg->reset_optimizer);
    json_builder_set_member_name (b, "drop_last");
    json_builder_add_boolean_value (b, cfg->drop_last);
    json_builder_set_member_name (b, "eval_batch_size");
    json_builder_add_int_value (b, cfg->eval_batch_size);
    json_builder_set_member_name (b, "evaluate_after");
    if (cfg->n_eval_after == 0) {
        json_builder_add_string_value (b, "every_task");
    } else {
        json_builder_begin_array (b);
        for (int i = 0; i < cfg->n_eval_after; i++)
            json_builder_add_int_value (b, cfg->eval_after[i]);
        json_builder_end_array (b);
    }
    json_builder_set_member_name (b, "synaptic_intelligence");
    if (cfg->si) {
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "c");
        json_builder_add_double_value (b, cfg->si_c);
        json_builder_set_member_name (b, "xi");
        json_builder_add_double_value (b, cfg->si_xi);
        json_builder_set_member_name (b, "first_task");
        json_builder_add_int_value (b, cfg->si_first_task);
        json_builder_end_object (b);
    } else {
        json_builder_add_boolean_value (b, FALSE);
    }
    if (cfg->activity_layer != NULL) {
        json_builder_set_member_name (b, "activity_layer");
        json_builder_add_string_value (b, cfg->activity_layer);
    }
    json_builder_set_member_name (b, "activity_samples");
    json_builder_add_int_value (b, cfg->activity_samples);
}

void dn_continual_permutation (guint64 seed, int task, int n, int *perm)
{
    for (int i = 0; i < n; i++)
        perm[i] = i;
    if (task == 0)
        return;
    /* One stream per task, so task t's permutation does not depend on T. */
    DnRng rng;
    dn_rng_seed (&rng, dn_rng_hash (seed, (uint64_t) task));
    dn_rng_shuffle (&rng, perm, n);
}

double dn_si_penalty (size_t n, const float *theta, const float *star, const float *big_omega,
                      double c, float *grad)
{
    double pen = 0.0;
    float k2 = (float) (2.0 * c);
    for (size_t i = 0; i < n; i++) {
        float d = theta[i] - star[i];
        pen += (double) big_omega[i] * d * d;
        grad[i] += k2 * big_omega[i] * d;
    }
    return c * pen;
}

void dn_si_accumulate (size_t n, const float *grad, const float *theta, float *prev, float *omega)
{
    for (size_t i = 0; i < n; i++) {
        omega[i] -= grad[i] * (theta[i] - prev[i]);
        prev[i] = theta[i];
    }
}

void dn_si_consolidate (size_t n, const float *theta, float *star, float *omega, float *big_omega,
                        double xi)
{
    for (size_t i = 0; i < n; i++) {
        float delta = theta[i] - star[i];
        float w = omega[i] > 0.0f ? omega[i] : 0.0f;
        big_omega[i] += w / (delta * delta + (float) xi);
        star[i] = theta[i];
        omega[i] = 0.0f;
    }
}
