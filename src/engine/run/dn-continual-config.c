/* dn-continual-config.c: the "continual" section of an experiment file and the
 * task permutations. */
#include "dn-continual-config.h"
#include "dn-error.h"
#include "dn-json.h"
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

static gboolean fail (GError **error, const char *what, const char *key, const char *msg)
{
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "%s: \"continual\": \"%s\" %s", what, key, msg);
    return FALSE;
}

static gboolean get_int (JsonObject *o, const char *key, gint64 min, gint64 max, gint64 *out,
                         const char *what, GError **error)
{
    JsonNode *n = json_object_get_member (o, key);
    if (n == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64 ||
        json_node_get_int (n) < min || json_node_get_int (n) > max) {
        g_autofree char *msg = dn_json_int_complaint (n, min, max);
        return fail (error, what, key, msg);
    }
    gint64 v = json_node_get_int (n);
    *out = v;
    return TRUE;
}

static gboolean get_double (JsonObject *o, const char *key, double min, double max, double *out,
                            const char *what, GError **error)
{
    JsonNode *n = json_object_get_member (o, key);
    if (n == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE (n) || (json_node_get_value_type (n) != G_TYPE_INT64 &&
                                       json_node_get_value_type (n) != G_TYPE_DOUBLE))
        return fail (error, what, key, "must be a number");
    double v = json_node_get_double (n);
    if (!(v >= min && v <= max)) {
        g_autofree char *msg = g_strdup_printf ("is %g; it must be between %g and %g", v, min, max);
        return fail (error, what, key, msg);
    }
    *out = v;
    return TRUE;
}

static gboolean get_bool (JsonObject *o, const char *key, gboolean *out, const char *what,
                          GError **error)
{
    JsonNode *n = json_object_get_member (o, key);
    if (n == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
        return fail (error, what, key, "must be true or false");
    *out = json_node_get_boolean (n);
    return TRUE;
}

static gboolean check_keys (JsonObject *o, const char *const *known, const char *what,
                            const char *section, GError **error)
{
    g_autoptr (GList) members = json_object_get_members (o);
    for (GList *m = members; m != NULL; m = m->next) {
        gboolean ok = FALSE;
        for (int i = 0; !ok && known[i] != NULL; i++)
            ok = g_str_equal (m->data, known[i]);
        if (!ok) {
            g_autofree char *list = g_strjoinv (", ", (char **) known);
            g_autofree char *q = dn_quote (m->data);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "%s: unknown field %s in \"%s\"; known fields are %s", what, q, section,
                         list);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean dn_continual_config_from_json (JsonObject *obj, DnContinualConfig *cfg, const char *what,
                                        GError **error)
{
    static const char *const known[] = {"tasks",           "permutation_seed",
                                        "epochs_per_task", "context",
                                        "reset_optimizer", "drop_last",
                                        "eval_batch_size", "evaluate_after",
                                        "synaptic_intelligence", "activity_layer",
                                        "activity_samples", NULL};
    if (!check_keys (obj, known, what, "continual", error))
        return FALSE;
    gint64 tasks = cfg->tasks, seed = (gint64) cfg->permutation_seed, epochs = cfg->epochs_per_task,
           ebs = cfg->eval_batch_size, act = cfg->activity_samples;
    if (!get_int (obj, "tasks", 1, DN_CONTINUAL_MAX_TASKS, &tasks, what, error) ||
        !get_int (obj, "permutation_seed", 0, G_MAXINT64, &seed, what, error) ||
        !get_int (obj, "epochs_per_task", 1, 100000, &epochs, what, error) ||
        !get_int (obj, "eval_batch_size", 1, 1 << 16, &ebs, what, error) ||
        !get_int (obj, "activity_samples", 0, 1 << 24, &act, what, error) ||
        !get_bool (obj, "reset_optimizer", &cfg->reset_optimizer, what, error) ||
        !get_bool (obj, "drop_last", &cfg->drop_last, what, error))
        return FALSE;
    cfg->tasks = (int) tasks;
    cfg->permutation_seed = (guint64) seed;
    cfg->epochs_per_task = (int) epochs;
    cfg->eval_batch_size = (int) ebs;
    cfg->activity_samples = (int) act;

    JsonNode *n = json_object_get_member (obj, "context");
    if (n != NULL) {
        const char *s = JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
                            ? json_node_get_string (n)
                            : "";
        int k = -1;
        for (int i = 0; context_names[i] != NULL; i++)
            if (g_str_equal (s, context_names[i]))
                k = i;
        if (k < 0)
            return fail (error, what, "context",
                         "must be \"prototype\" (the mean image of each task; nearest prototype at "
                         "test time), \"task_id\" (one-hot) or \"none\"");
        cfg->context = (DnContextKind) k;
    }

    n = json_object_get_member (obj, "evaluate_after");
    if (n != NULL) {
        g_clear_pointer (&cfg->eval_after, g_free);
        cfg->n_eval_after = 0;
        if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING &&
            g_str_equal (json_node_get_string (n), "every_task")) {
            /* the default */
        } else if (JSON_NODE_HOLDS_ARRAY (n) && json_array_get_length (json_node_get_array (n)) > 0) {
            JsonArray *a = json_node_get_array (n);
            guint len = json_array_get_length (a);
            cfg->eval_after = g_new (int, len);
            for (guint i = 0; i < len; i++) {
                JsonNode *e = json_array_get_element (a, i);
                if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64 ||
                    json_node_get_int (e) < 0 || json_node_get_int (e) >= DN_CONTINUAL_MAX_TASKS)
                    return fail (error, what, "evaluate_after",
                                 "must be \"every_task\" or a list of 0-based task numbers after "
                                 "which to evaluate, such as [1, 4, 9]");
                cfg->eval_after[cfg->n_eval_after++] = (int) json_node_get_int (e);
            }
        } else {
            return fail (error, what, "evaluate_after",
                         "must be \"every_task\" or a list of 0-based task numbers after which to "
                         "evaluate, such as [1, 4, 9]");
        }
    }

    n = json_object_get_member (obj, "synaptic_intelligence");
    if (n != NULL && !JSON_NODE_HOLDS_NULL (n)) {
        if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN) {
            cfg->si = json_node_get_boolean (n);
        } else if (JSON_NODE_HOLDS_OBJECT (n)) {
            JsonObject *si = json_node_get_object (n);
            static const char *const si_known[] = {"c", "xi", "first_task", NULL};
            gint64 first = cfg->si_first_task;
            if (!check_keys (si, si_known, what, "synaptic_intelligence", error) ||
                !get_double (si, "c", 0.0, 1e6, &cfg->si_c, what, error) ||
                !get_double (si, "xi", 1e-12, 1e6, &cfg->si_xi, what, error) ||
                !get_int (si, "first_task", 0, DN_CONTINUAL_MAX_TASKS, &first, what, error))
                return FALSE;
            cfg->si_first_task = (int) first;
            cfg->si = TRUE;
        } else {
            return fail (error, what, "synaptic_intelligence",
                         "must be an object such as {\"c\": 0.1, \"xi\": 0.1}, true or false");
        }
    }

    n = json_object_get_member (obj, "activity_layer");
    if (n != NULL && !JSON_NODE_HOLDS_NULL (n)) {
        if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
            return fail (error, what, "activity_layer", "must be the name of a layer");
        g_autofree char *name_what =
            g_strdup_printf ("%s: \"continual\": \"activity_layer\"", what);
        if (!dn_check_name (json_node_get_string (n), FALSE, name_what, error))
            return FALSE;
        g_free (cfg->activity_layer);
        cfg->activity_layer = g_strdup (json_node_get_string (n));
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
