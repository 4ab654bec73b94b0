/* dn-dendrite.c: choosing neuron modules, adding dendrite sets, counting. */
#include "dn-dendrite.h"
#include "dn-error.h"

#include <string.h>

/* The last two are the reference library's names for our last two. */
static const char *const selection_keys[] = {"perforate_types",
                                             "perforate",
                                             "track",
                                             "skip",
                                             "groups",
                                             "forward_function",
                                             "init_multiplier",
                                             "pai_forward_function",
                                             "candidate_weight_initialization_multiplier",
                                             "initial_correlation_batches",
                                             "learn_dendrites_live",
                                             "normalized_covariance",
                                             "correlations_by_mean",
                                             "candidate_grad_clipping",
                                             "global_candidates",
                                             NULL};

const DnPbSettings dn_pb_settings_default = {
    .initial_correlation_batches = 100,
    .normalized_covariance = TRUE,
    .correlations_by_mean = TRUE,
    .global_candidates = 1,
};

gboolean dn_dendrite_selection_key (const char *key)
{
    return g_strv_contains (selection_keys, key);
}

void dn_dendrite_selection_init (DnDendriteSelection *sel)
{
    memset (sel, 0, sizeof *sel);
    sel->perforate_types = g_strsplit ("linear conv1d conv2d", " ", -1);
    sel->perforate_names = g_new0 (char *, 1);
    sel->track_names = g_new0 (char *, 1);
    sel->skip_names = g_new0 (char *, 1);
    sel->groups = g_new0 (char **, 1);
    sel->forward_function = DN_ACT_SIGMOID;
    sel->init_multiplier = 0.01;
    sel->pb = dn_pb_settings_default;
}

void dn_dendrite_selection_clear (DnDendriteSelection *sel)
{
    g_strfreev (sel->perforate_types);
    g_strfreev (sel->perforate_names);
    g_strfreev (sel->track_names);
    g_strfreev (sel->skip_names);
    for (int i = 0; sel->groups != NULL && sel->groups[i] != NULL; i++)
        g_strfreev (sel->groups[i]);
    g_free (sel->groups);
    memset (sel, 0, sizeof *sel);
}

/* "groups": [["conv1", "bn1"], ...], each group two or more layer names. */
static gboolean read_groups (DnFieldReader *r, DnDendriteSelection *sel)
{
    static const char *const rule = "an array of groups, each an array of two or more "
                                    "consecutive layer names, e.g. [[\"conv1\", \"bn1\"]]";
    JsonNode *g = dn_fields_member (r, "groups");
    if (g == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_ARRAY (g))
        return dn_fields_fail (r, "groups", rule);
    JsonArray *a = json_node_get_array (g);
    guint n = json_array_get_length (a);
    for (guint i = 0; i < n; i++) {
        JsonNode *e = json_array_get_element (a, i);
        guint len = JSON_NODE_HOLDS_ARRAY (e) ? json_array_get_length (json_node_get_array (e)) : 0;
        for (guint j = 0; j < len; j++) {
            JsonNode *name = json_array_get_element (json_node_get_array (e), j);
            if (!JSON_NODE_HOLDS_VALUE (name) || json_node_get_value_type (name) != G_TYPE_STRING)
                len = 0;
        }
        if (len < 2)
            return dn_fields_fail (r, "groups", rule);
    }
    char ***list = g_new0 (char **, n + 1);
    for (guint i = 0; i < n; i++) {
        JsonArray *group = json_array_get_array_element (a, i);
        guint len = json_array_get_length (group);
        list[i] = g_new0 (char *, len + 1);
        for (guint j = 0; j < len; j++)
            list[i][j] = g_strdup (json_array_get_string_element (group, j));
    }
    for (int i = 0; sel->groups[i] != NULL; i++)
        g_strfreev (sel->groups[i]);
    g_free (sel->groups);
    sel->groups = list;
    return TRUE;
}

static gboolean read_pb (DnFieldReader *r, DnPbSettings *pb)
{
    if (!dn_fields_int (r, "initial_correlation_batches", 0, G_MAXINT, &pb->initial_correlation_batches) ||
        !dn_fields_bool (r, "learn_dendrites_live", &pb->learn_dendrites_live) ||
        !dn_fields_bool (r, "normalized_covariance", &pb->normalized_covariance) ||
        !dn_fields_bool (r, "correlations_by_mean", &pb->correlations_by_mean) ||
        !dn_fields_number (r, "candidate_grad_clipping", 0.0, G_MAXDOUBLE,
                           &pb->candidate_grad_clipping) ||
        !dn_fields_int (r, "global_candidates", 1, G_MAXINT, &pb->global_candidates))
        return FALSE;
    if (pb->global_candidates != 1)
        return dn_fields_fail (r, "global_candidates",
                               "1: this version trains one candidate dendrite per neuron "
                               "module and channel");
    return TRUE;
}

gboolean dn_dendrite_selection_from_json (JsonObject *obj, DnDendriteSelection *sel, GError **error)
{
    g_auto (DnFieldReader) r = dn_fields_reader (obj, NULL, "dendrites", 0, error);
    /* the reference library's names, where ours are absent */
    const char *ff = json_object_has_member (obj, "forward_function") ? "forward_function"
                                                                      : "pai_forward_function";
    const char *im = json_object_has_member (obj, "init_multiplier")
                         ? "init_multiplier"
                         : "candidate_weight_initialization_multiplier";
    return dn_fields_string_list (&r, "perforate_types", &sel->perforate_types) &&
           dn_fields_string_list (&r, "perforate", &sel->perforate_names) &&
           dn_fields_string_list (&r, "track", &sel->track_names) &&
           dn_fields_string_list (&r, "skip", &sel->skip_names) && read_groups (&r, sel) &&
           dn_dendrite_act_read (&r, ff, &sel->forward_function) &&
           dn_fields_number (&r, im, 0.0, 1e3, &sel->init_multiplier) && read_pb (&r, &sel->pb);
}

static void add_names (JsonBuilder *b, const char *key, char **names)
{
    json_builder_set_member_name (b, key);
    json_builder_begin_array (b);
    for (int i = 0; names != NULL && names[i] != NULL; i++)
        json_builder_add_string_value (b, names[i]);
    json_builder_end_array (b);
}

void dn_dendrite_selection_to_json (const DnDendriteSelection *sel, JsonBuilder *b)
{
    add_names (b, "perforate_types", sel->perforate_types);
    add_names (b, "perforate", sel->perforate_names);
    add_names (b, "track", sel->track_names);
    add_names (b, "skip", sel->skip_names);
    json_builder_set_member_name (b, "groups");
    json_builder_begin_array (b);
    for (int i = 0; sel->groups != NULL && sel->groups[i] != NULL; i++) {
        json_builder_begin_array (b);
        for (int j = 0; sel->groups[i][j] != NULL; j++)
            json_builder_add_string_value (b, sel->groups[i][j]);
        json_builder_end_array (b);
    }
    json_builder_end_array (b);
    json_builder_set_member_name (b, "forward_function");
    json_builder_add_string_value (b, dn_dendrite_act_name (sel->forward_function));
    json_builder_set_member_name (b, "init_multiplier");
    json_builder_add_double_value (b, sel->init_multiplier);
    const DnPbSettings *pb = &sel->pb, *d = &dn_pb_settings_default;
    if (pb->initial_correlation_batches != d->initial_correlation_batches) {
        json_builder_set_member_name (b, "initial_correlation_batches");
        json_builder_add_int_value (b, pb->initial_correlation_batches);
    }
    const char *flags[] = {"learn_dendrites_live", "normalized_covariance",
                           "correlations_by_mean"};
    const gboolean now[] = {pb->learn_dendrites_live, pb->normalized_covariance,
                            pb->correlations_by_mean};
    const gboolean def[] = {d->learn_dendrites_live, d->normalized_covariance,
                            d->correlations_by_mean};
    for (guint i = 0; i < G_N_ELEMENTS (flags); i++) {
        if (now[i] == def[i])
            continue;
        json_builder_set_member_name (b, flags[i]);
        json_builder_add_boolean_value (b, now[i]);
    }
    if (pb->candidate_grad_clipping != d->candidate_grad_clipping) {
        json_builder_set_member_name (b, "candidate_grad_clipping");
        json_builder_add_double_value (b, pb->candidate_grad_clipping);
    }
}

static gboolean is_norm (const char *type)
{
    return g_str_equal (type, "batchnorm1d") || g_str_equal (type, "batchnorm2d") ||
           g_str_equal (type, "layernorm");
}

static gboolean has_default_input (JsonObject *o, GPtrArray *layers, guint i)
{
    if (!json_object_has_member (o, "inputs"))
        return TRUE;
    JsonArray *a = json_object_get_array_member (o, "inputs");
    if (a == NULL || json_array_get_length (a) != 1 || i == 0)
        return FALSE;
    JsonObject *prev = layers->pdata[i - 1];
    return g_str_equal (json_array_get_string_element (a, 0),
                        json_object_get_string_member (prev, "name"));
}

static JsonObject *strip (JsonObject *o)
{
    /* an existing dendritic layer keeps its "dendrites": that is its k */
    gboolean keep_k =
        g_str_equal (json_object_get_string_member_with_default (o, "type", ""), "dendritic");
    JsonObject *c = json_object_new ();
    g_autoptr (GList) members = json_object_get_members (o);
    for (GList *m = members; m != NULL; m = m->next)
        if (!g_str_equal (m->data, "name") && !g_str_equal (m->data, "inputs") &&
            (keep_k || !g_str_equal (m->data, "dendrites")))
            json_object_set_member (c, m->data,
                                    json_node_copy (json_object_get_member (o, m->data)));
    return c;
}

JsonNode *dn_dendrite_wrap_network (JsonNode *desc, const DnDendriteSelection *sel,
                                    GPtrArray **warnings, GError **error)
{
    /* Build once to validate and to give every layer its explicit name. */
    g_autoptr (DnNetwork) probe = dn_network_new_from_json (desc, dn_backend_cpu (), error);
    if (probe == NULL)
        return NULL;
    g_autoptr (JsonNode) named = dn_network_to_json (probe);
    JsonObject *root = json_node_get_object (named);
    JsonArray *arr = json_object_get_array_member (root, "layers");
    g_autoptr (GPtrArray) layers = g_ptr_array_new ();
    for (guint i = 0; i < json_array_get_length (arr); i++)
        g_ptr_array_add (layers, json_array_get_object_element (arr, i));
    GPtrArray *warn = g_ptr_array_new_with_free_func (g_free);
    /* group_of[i]: index of the group's first layer, or -1 */
    g_autofree int *group_of = g_new (int, layers->len);
    g_autofree int *group_len = g_new0 (int, layers->len);
    for (guint i = 0; i < layers->len; i++)
        group_of[i] = -1;
    for (int g = 0; sel->groups != NULL && sel->groups[g] != NULL; g++) {
        char **names = sel->groups[g];
        int first = -1;
        for (guint i = 0; i < layers->len && first < 0; i++)
            if (g_str_equal (json_object_get_string_member (layers->pdata[i], "name"), names[0]))
                first = (int) i;
        int n = (int) g_strv_length (names);
        gboolean ok = first >= 0 && first + n <= (int) layers->len;
        for (int j = 0; ok && j < n; j++) {
            JsonObject *o = layers->pdata[first + j];
            ok = g_str_equal (json_object_get_string_member (o, "name"), names[j]) &&
                 group_of[first + j] < 0 && (j == 0 || has_default_input (o, layers, first + j));
        }
        if (!ok) {
            g_autofree char *list = g_strjoinv ("\", \"", names);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "dendrites: the group [\"%s\"] must name consecutive layers, each "
                         "reading the one before it, in no other group",
                         list);
            g_ptr_array_unref (warn);
            return NULL;
        }
        for (int j = 0; j < n; j++)
            group_of[first + j] = first;
        group_len[first] = n;
    }

    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "input");
    json_builder_add_value (b, json_node_copy (json_object_get_member (root, "input")));
    json_builder_set_member_name (b, "layers");
    json_builder_begin_array (b);
    /* Names of group members other than the first map to the group's name. */
    g_autoptr (GHashTable) rename = g_hash_table_new (g_str_hash, g_str_equal);
    /* Outputs that no longer exist: those of every group member but the last. */
    g_autoptr (GHashTable) hidden = g_hash_table_new (g_str_hash, g_str_equal);
    for (guint i = 0; i < layers->len; i++)
        if (group_of[i] >= 0 && (int) i != group_of[i] + group_len[group_of[i]] - 1)
            g_hash_table_add (hidden,
                              (gpointer) json_object_get_string_member (layers->pdata[i], "name"));
    for (guint i = 0; i < layers->len; i++) {
        JsonObject *o = layers->pdata[i];
        const char *name = json_object_get_string_member (o, "name");
        const char *type = json_object_get_string_member (o, "type");
        if (group_of[i] >= 0 && group_of[i] != (int) i) {
            g_hash_table_insert (
                rename, (gpointer) name,
                (gpointer) json_object_get_string_member (layers->pdata[group_of[i]], "name"));
            continue;
        }
        gboolean explicit_on = g_strv_contains ((const char *const *) sel->perforate_names, name);
        gboolean off = g_strv_contains ((const char *const *) sel->track_names, name) ||
                       g_strv_contains ((const char *const *) sel->skip_names, name);
        gboolean on = explicit_on || group_len[i] > 0 ||
                      (!off && g_strv_contains ((const char *const *) sel->perforate_types, type));
        /* rewrite inputs through the rename map */
        JsonNode *inputs = NULL;
        if (json_object_has_member (o, "inputs")) {
            JsonArray *ia = json_object_get_array_member (o, "inputs");
            JsonArray *na = json_array_new ();
            for (guint k = 0; k < json_array_get_length (ia); k++) {
                const char *src = json_array_get_string_element (ia, k);
                const char *to = g_hash_table_lookup (rename, src);
                if (g_hash_table_contains (hidden, src)) {
                    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                                 "dendrites: layer '%s' reads '%s', which is inside a group; a "
                                 "group gives only its last layer's output, so end the group at "
                                 "'%s' or leave it out of \"groups\"",
                                 name, src, src);
                    json_array_unref (na);
                    g_ptr_array_unref (warn);
                    return NULL;
                }
                json_array_add_string_element (na, to != NULL ? to : src);
            }
            inputs = json_node_new (JSON_NODE_ARRAY);
            json_node_take_array (inputs, na);
        }
        if (!on) {
            if (is_norm (type) && i > 0 && has_default_input (o, layers, i)) {
                JsonObject *prev = layers->pdata[i - 1];
                const char *pname = json_object_get_string_member (prev, "name");
                const char *ptype = json_object_get_string_member (prev, "type");
                gboolean prev_on =
                    g_strv_contains ((const char *const *) sel->perforate_names, pname) ||
                    (g_strv_contains ((const char *const *) sel->perforate_types, ptype) &&
                     !g_strv_contains ((const char *const *) sel->track_names, pname) &&
                     !g_strv_contains ((const char *const *) sel->skip_names, pname));
                if (prev_on && group_of[i - 1] < 0)
                    g_ptr_array_add (
                        warn, g_strdup_printf (
                                  "layer '%s' (%s) follows '%s', which gets dendrites, but is "
                                  "not grouped with it, so all its dendrites share one "
                                  "normalisation; add [\"%s\", \"%s\"] to \"groups\" in the "
                                  "dendrites section to give each dendrite its own",
                                  name, type, pname, pname, name));
            }
            g_autoptr (JsonObject) copy = strip (o);
            json_builder_begin_object (b);
            json_builder_set_member_name (b, "name");
            json_builder_add_string_value (b, name);
            if (inputs != NULL) {
                json_builder_set_member_name (b, "inputs");
                json_builder_add_value (b, inputs);
            }
            g_autoptr (GList) members = json_object_get_members (copy);
            for (GList *m = members; m != NULL; m = m->next) {
                json_builder_set_member_name (b, m->data);
                json_builder_add_value (b, json_node_copy (json_object_get_member (copy, m->data)));
            }
            json_builder_end_object (b);
            continue;
        }
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "name");
        json_builder_add_string_value (b, name);
        json_builder_set_member_name (b, "type");
        json_builder_add_string_value (b, "dendritic");
        if (inputs != NULL) {
            json_builder_set_member_name (b, "inputs");
            json_builder_add_value (b, inputs);
        }
        json_builder_set_member_name (b, "dendrites");
        json_builder_add_int_value (b, 0);
        json_builder_set_member_name (b, "forward_function");
        json_builder_add_string_value (b, dn_dendrite_act_name (sel->forward_function));
        json_builder_set_member_name (b, "init_multiplier");
        json_builder_add_double_value (b, sel->init_multiplier);
        json_builder_set_member_name (b, "layers");
        json_builder_begin_array (b);
        int n = MAX (group_len[i], 1);
        for (int j = 0; j < n; j++) {
            JsonNode *node = json_node_new (JSON_NODE_OBJECT);
            json_node_take_object (node, strip (layers->pdata[i + j]));
            json_builder_add_value (b, node);
        }
        json_builder_end_array (b);
        json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
    JsonNode *out = json_builder_get_root (b);
    /* Check the wrapped description builds. */
    g_autoptr (DnNetwork) check = dn_network_new_from_json (out, dn_backend_cpu (), error);
    if (check == NULL) {
        json_node_unref (out);
        g_ptr_array_unref (warn);
        return NULL;
    }
    if (warnings != NULL)
        *warnings = warn;
    else
        g_ptr_array_unref (warn);
    return out;
}

static DnParam *find_param (GPtrArray *params, const char *name)
{
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = params->pdata[i];
        if (g_str_equal (np->name, name))
            return np->param;
    }
    return NULL;
}

static DnParam *find_top (DnNode *node)
{
    for (int i = 0; i < node->layer->n_params; i++)
        if (g_str_has_prefix (node->layer->params[i].name, "dendrites_to_top."))
            return &node->layer->params[i];
    return NULL;
}

void dn_network_copy_weights (DnNetwork *dst, DnNetwork *src)
{
    DnBackend *be = dst->backend;
    g_autoptr (GPtrArray) dp = dn_network_named_params (dst);
    g_autoptr (GPtrArray) sp = dn_network_named_params (src);
    for (guint i = 0; i < dp->len; i++) {
        DnNamedParam *d = dp->pdata[i];
        if (g_str_has_prefix (d->param->name, "dendrites_to_top.")) {
            DnNode *sn = dn_network_find_node (src, d->node->name);
            DnParam *st = sn != NULL ? find_top (sn) : NULL;
            if (st == NULL || st->shape.d[1] != d->param->shape.d[1])
                continue;
            int64_t rows = MIN (st->shape.d[0], d->param->shape.d[0]);
            be->copy (be, d->param->value, st->value, (size_t) (rows * st->shape.d[1]));
            continue;
        }
        DnParam *s = find_param (sp, d->name);
        if (s != NULL && dn_shape_equal (&s->shape, &d->param->shape))
            be->copy (be, d->param->value, s->value, (size_t) dn_shape_numel (&s->shape));
    }
}

DnNetwork *dn_network_add_dendrites (DnNetwork *net, DnRng *rng, GError **error)
{
    g_autoptr (JsonNode) desc = dn_network_to_json (net);
    JsonArray *arr = json_object_get_array_member (json_node_get_object (desc), "layers");
    int found = 0;
    for (guint i = 0; i < json_array_get_length (arr); i++) {
        JsonObject *o = json_array_get_object_element (arr, i);
        if (!g_str_equal (json_object_get_string_member (o, "type"), "dendritic"))
            continue;
        gint64 k = json_object_get_int_member (o, "dendrites");
        if (k >= DN_DENDRITE_MAX) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "layer '%s' already has %d dendrites, the most this version supports",
                         json_object_get_string_member (o, "name"), DN_DENDRITE_MAX);
            return NULL;
        }
        json_object_set_int_member (o, "dendrites", k + 1);
        found++;
    }
    if (found == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the network has no layer that can get dendrites; select some in the "
                     "experiment's \"dendrites\" section");
        return NULL;
    }
    DnNetwork *bigger = dn_network_new_from_json (desc, net->backend, error);
    if (bigger == NULL)
        return NULL;
    dn_network_init (bigger, rng);
    dn_network_copy_weights (bigger, net);
    dn_network_set_training (bigger, net->training);
    return bigger;
}

int dn_network_dendrite_count (DnNetwork *net)
{
    int k = 0;
    for (int i = 0; i < dn_network_n_nodes (net); i++)
        k = MAX (k, dn_dendritic_count (dn_network_node (net, i)->layer));
    return k;
}

int dn_network_n_dendritic (DnNetwork *net)
{
    int n = 0;
    for (int i = 0; i < dn_network_n_nodes (net); i++)
        n += dn_dendritic_count (dn_network_node (net, i)->layer) >= 0;
    return n;
}

int64_t dn_network_clean_param_count (DnNetwork *net)
{
    return dn_network_n_params (net);
}

int64_t dn_network_reference_param_count (DnNetwork *net)
{
    int64_t n = dn_network_n_params (net);
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnLayer *l = dn_network_node (net, i)->layer;
        int k = dn_dendritic_count (l);
        if (k < 1)
            continue;
        int64_t c = dn_dendritic_channels (l);
        /* the reference keeps every earlier dendrites_to_top matrix (1..k-1 rows) and
         * a leftover (k-1, C) candidate matrix once k >= 2 */
        n += c * (int64_t) k * (k - 1) / 2;
        if (k >= 2)
            n += c * (k - 1);
    }
    return n;
}

/* The name in a plain network of a dendritic node's neuron-module parameter:
 * "main_module.<p>" is the node's own "<p>", "main_module.<i>.<p>" the i-th layer of its
 * group (the group's layers follow each other from the node's name on). NULL: none. */
static char *plain_name (DnNetwork *plain, const DnNamedParam *np)
{
    const char *rest = np->param->name;
    if (!g_str_has_prefix (rest, "main_module."))
        return NULL;
    rest += strlen ("main_module.");
    int first = -1;
    for (int i = 0; i < dn_network_n_nodes (plain) && first < 0; i++)
        if (g_str_equal (dn_network_node (plain, i)->name, np->node->name))
            first = i;
    if (first < 0)
        return NULL;
    char *end = NULL;
    guint64 member = g_ascii_strtoull (rest, &end, 10);
    if (end != rest && *end == '.') {
        if (member >= (guint64) (dn_network_n_nodes (plain) - first))
            return NULL;
        return g_strdup_printf ("%s.%s", dn_network_node (plain, first + (int) member)->name,
                                end + 1);
    }
    return g_strdup_printf ("%s.%s", np->node->name, rest);
}

static DnNamedParam *find_named (GPtrArray *params, const char *name)
{
    for (guint i = 0; i < params->len; i++)
        if (g_str_equal (((DnNamedParam *) params->pdata[i])->name, name))
            return params->pdata[i];
    return NULL;
}

gboolean dn_network_init_from (DnNetwork *dst, DnNetwork *src, const char *what, GError **error)
{
    if (!dn_shape_equal (&dst->input_shape, &src->input_shape)) {
        g_autofree char *a = dn_shape_to_string (&dst->input_shape);
        g_autofree char *b = dn_shape_to_string (&src->input_shape);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "%s does not match the experiment's network: the network takes inputs of "
                     "shape %s but the model takes %s",
                     what, a, b);
        return FALSE;
    }
    int k_src = dn_network_dendrite_count (src), k_dst = dn_network_dendrite_count (dst);
    if (k_src > k_dst) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s holds %d dendrite set%s but the experiment's network starts with %d; "
                     "start from a model without dendrites (a run's first architecture is its "
                     "best_model_beforeSwitch_0.safetensors) or continue training the model with "
                     "its own network",
                     what, k_src, k_src == 1 ? "" : "s", k_dst);
        return FALSE;
    }
    DnBackend *be = dst->backend;
    g_autoptr (GPtrArray) dp = dn_network_named_params (dst);
    g_autoptr (GPtrArray) sp = dn_network_named_params (src);
    g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
    g_autofree DnNamedParam **from = g_new0 (DnNamedParam *, dp->len + 1);
    for (guint i = 0; i < dp->len; i++) {
        DnNamedParam *d = dp->pdata[i];
        DnNamedParam *s = find_named (sp, d->name);
        g_autofree char *mapped = NULL;
        if (s == NULL && dn_dendritic_count (d->node->layer) >= 0 &&
            (mapped = plain_name (src, d)) != NULL)
            s = find_named (sp, mapped);
        if (s == NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                         "%s does not match the experiment's network: the network's layer '%s' "
                         "needs \"%s\" but the model has no such tensor; train the model with "
                         "the experiment's network",
                         what, d->node->name, mapped != NULL ? mapped : d->name);
            return FALSE;
        }
        if (!dn_shape_equal (&d->param->shape, &s->param->shape)) {
            g_autofree char *a = dn_shape_to_string (&d->param->shape);
            g_autofree char *b = dn_shape_to_string (&s->param->shape);
            g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                         "%s does not match the experiment's network: \"%s\" of layer '%s' is "
                         "%s in the network but %s in the model",
                         what, s->name, d->node->name, a, b);
            return FALSE;
        }
        g_hash_table_add (used, s->name);
        from[i] = s;
    }
    for (guint i = 0; i < sp->len; i++) {
        DnNamedParam *s = sp->pdata[i];
        if (!g_hash_table_contains (used, s->name)) {
            g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                         "%s does not match the experiment's network: the model's \"%s\" (layer "
                         "'%s') has no place in the network",
                         what, s->name, s->node->name);
            return FALSE;
        }
    }
    /* every tensor fits: copy through the host, where src's backend may differ */
    g_autofree float *host = NULL;
    for (guint i = 0; i < dp->len; i++) {
        DnParam *d = ((DnNamedParam *) dp->pdata[i])->param;
        size_t n = (size_t) dn_shape_numel (&d->shape);
        host = g_renew (float, host, n);
        src->backend->download (src->backend, host, from[i]->param->value, n * sizeof (float));
        be->upload (be, d->value, host, n * sizeof (float));
    }
    return TRUE;
}
