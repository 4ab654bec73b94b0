/* dn-network-info.c: shapes, parameter counts and dendrite choices per layer. */
#include "dn-network-info.h"

#include "dn-layer-catalog.h"

#include <locale.h>
#include <string.h>

static void layer_info_free (gpointer p)
{
    DnLayerInfo *l = p;
    g_free (l->name);
    g_free (l->type);
    g_free (l->settings);
    g_free (l->output);
    g_free (l->error);
    g_free (l);
}

void dn_network_info_free (DnNetworkInfo *info)
{
    if (info == NULL)
        return;
    g_ptr_array_unref (info->layers);
    g_ptr_array_unref (info->warnings);
    g_free (info->input);
    g_free (info->error);
    g_free (info);
}

char *dn_format_count (int64_t n)
{
    /* grouped by thousands with the locale's separator, or a narrow no-break
     * space where the locale has none (C), as SI style writes 1 199 882 */
    const char *sep = localeconv ()->thousands_sep;
    if (sep == NULL || *sep == '\0')
        sep = "\u202f";
    char digits[32];
    g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, (guint64) (n < 0 ? -n : n));
    GString *s = g_string_new (n < 0 ? "−" : "");
    int len = (int) strlen (digits);
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            g_string_append (s, sep);
        g_string_append_c (s, digits[i]);
    }
    return g_string_free (s, FALSE);
}

static char *shape_text (const DnShape *s)
{
    GString *str = g_string_new (NULL);
    for (int i = 0; i < s->ndim; i++)
        g_string_append_printf (str, "%s%" G_GINT64_FORMAT, i > 0 ? "×" : "", (gint64) s->d[i]);
    return g_string_free (str, FALSE);
}

/* A copy of desc with only the first n layers. */
static JsonNode *prefix (JsonNode *desc, guint n)
{
    JsonObject *src = json_node_get_object (desc);
    JsonObject *obj = json_object_new ();
    GList *members = json_object_get_members (src);
    for (GList *m = members; m != NULL; m = m->next)
        if (!g_str_equal (m->data, "layers"))
            json_object_set_member (obj, m->data,
                                    json_node_copy (json_object_get_member (src, m->data)));
    g_list_free (members);
    JsonArray *layers = json_object_get_array_member (src, "layers");
    JsonArray *out = json_array_new ();
    for (guint i = 0; i < n; i++)
        json_array_add_element (out, json_node_copy (json_array_get_element (layers, i)));
    json_object_set_array_member (obj, "layers", out);
    JsonNode *node = json_node_new (JSON_NODE_OBJECT);
    json_node_take_object (node, obj);
    return node;
}

static gboolean in_list (char **list, const char *name)
{
    return list != NULL && name != NULL && g_strv_contains ((const char *const *) list, name);
}

static gboolean in_group (const DnDendriteSelection *sel, const char *name)
{
    for (int g = 0; sel->groups != NULL && sel->groups[g] != NULL; g++)
        if (in_list (sel->groups[g], name))
            return TRUE;
    return FALSE;
}

DnLayerDendrites dn_layer_dendrites_get (const DnDendriteSelection *sel, const char *name,
                                         const char *type)
{
    if (sel == NULL)
        return DN_LAYER_DENDRITES_NONE;
    if (in_list (sel->perforate_names, name) || in_group (sel, name))
        return DN_LAYER_DENDRITES_PERFORATE;
    if (in_list (sel->track_names, name))
        return DN_LAYER_DENDRITES_TRACK;
    if (in_list (sel->skip_names, name))
        return DN_LAYER_DENDRITES_NONE;
    if (type != NULL && in_list (sel->perforate_types, type))
        return DN_LAYER_DENDRITES_PERFORATE;
    return DN_LAYER_DENDRITES_NONE;
}

static void list_remove (char ***list, const char *name)
{
    if (*list == NULL)
        return;
    GPtrArray *out = g_ptr_array_new ();
    for (int i = 0; (*list)[i] != NULL; i++) {
        if (g_str_equal ((*list)[i], name))
            g_free ((*list)[i]);
        else
            g_ptr_array_add (out, (*list)[i]);
    }
    g_ptr_array_add (out, NULL);
    g_free (*list);
    *list = (char **) g_ptr_array_free (out, FALSE);
}

static void list_add (char ***list, const char *name)
{
    if (in_list (*list, name))
        return;
    guint n = *list != NULL ? g_strv_length (*list) : 0;
    *list = g_renew (char *, *list, n + 2);
    (*list)[n] = g_strdup (name);
    (*list)[n + 1] = NULL;
}

void dn_layer_dendrites_set (DnDendriteSelection *sel, const char *name, const char *type,
                             DnLayerDendrites choice)
{
    gboolean by_type = type != NULL && in_list (sel->perforate_types, type);
    list_remove (&sel->perforate_names, name);
    list_remove (&sel->track_names, name);
    list_remove (&sel->skip_names, name);
    switch (choice) {
    case DN_LAYER_DENDRITES_PERFORATE:
        if (!by_type)
            list_add (&sel->perforate_names, name);
        break;
    case DN_LAYER_DENDRITES_TRACK:
        list_add (&sel->track_names, name);
        break;
    case DN_LAYER_DENDRITES_NONE:
        if (by_type)
            list_add (&sel->skip_names, name);
        break;
    }
}

static void list_rename (char **list, const char *from, const char *to)
{
    for (int i = 0; list != NULL && list[i] != NULL; i++)
        if (g_str_equal (list[i], from)) {
            g_free (list[i]);
            list[i] = g_strdup (to);
        }
}

void dn_dendrite_selection_rename (DnDendriteSelection *sel, const char *from, const char *to)
{
    list_rename (sel->perforate_names, from, to);
    list_rename (sel->track_names, from, to);
    list_rename (sel->skip_names, from, to);
    for (int g = 0; sel->groups != NULL && sel->groups[g] != NULL; g++)
        list_rename (sel->groups[g], from, to);
}

void dn_dendrite_selection_forget (DnDendriteSelection *sel, const char *name)
{
    list_remove (&sel->perforate_names, name);
    list_remove (&sel->track_names, name);
    list_remove (&sel->skip_names, name);
    /* a group that loses a member is no longer a group of consecutive layers */
    int w = 0;
    for (int g = 0; sel->groups != NULL && sel->groups[g] != NULL; g++) {
        if (in_list (sel->groups[g], name))
            g_strfreev (sel->groups[g]);
        else
            sel->groups[w++] = sel->groups[g];
    }
    if (sel->groups != NULL)
        sel->groups[w] = NULL;
}

static void fill_from_network (DnNetworkInfo *info, DnNetwork *net, int n)
{
    for (int i = 0; i < n && i < dn_network_n_nodes (net); i++) {
        DnNode *node = dn_network_node (net, i);
        DnLayerInfo *l = g_ptr_array_index (info->layers, i);
        g_free (l->name);
        l->name = g_strdup (node->name);
        l->settings = node->layer->klass->describe != NULL
                          ? node->layer->klass->describe (node->layer)
                          : g_strdup ("");
        l->output = shape_text (&node->layer->out_shape);
        l->params = dn_layer_n_params (node->layer);
    }
}

DnNetworkInfo *dn_network_info_new (JsonNode *network, const DnDendriteSelection *sel)
{
    DnNetworkInfo *info = g_new0 (DnNetworkInfo, 1);
    info->layers = g_ptr_array_new_with_free_func (layer_info_free);
    info->warnings = g_ptr_array_new_with_free_func (g_free);
    info->error_layer = -1;
    if (network == NULL || !JSON_NODE_HOLDS_OBJECT (network)) {
        info->error = g_strdup ("the experiment has no network");
        return info;
    }
    JsonObject *obj = json_node_get_object (network);
    JsonArray *layers = json_object_has_member (obj, "layers") &&
                                JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "layers"))
                            ? json_object_get_array_member (obj, "layers")
                            : NULL;
    guint n = layers != NULL ? json_array_get_length (layers) : 0;
    for (guint i = 0; i < n; i++) {
        DnLayerInfo *l = g_new0 (DnLayerInfo, 1);
        JsonNode *e = json_array_get_element (layers, i);
        JsonObject *lo = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
        const char *type = lo != NULL && json_object_has_member (lo, "type")
                               ? json_object_get_string_member (lo, "type")
                               : NULL;
        const char *name = lo != NULL && json_object_has_member (lo, "name")
                               ? json_object_get_string_member (lo, "name")
                               : NULL;
        l->type = g_ascii_strdown (type != NULL ? type : "?", -1);
        l->name = g_strdup (name != NULL ? name : l->type);
        const DnLayerKind *kind = dn_layer_catalog_lookup (l->type);
        l->neuron_module = kind != NULL && kind->neuron_module;
        g_ptr_array_add (info->layers, l);
    }

    GError *error = NULL;
    DnNetwork *net = dn_network_new_from_json (network, dn_backend_cpu (), &error);
    if (net != NULL) {
        info->ok = TRUE;
        fill_from_network (info, net, (int) n);
        info->total_params = dn_network_n_params (net);
        DnShape out = dn_network_output_shape (net);
        info->output_numel = dn_shape_numel (&out);
        info->input = shape_text (&net->input_shape);
        dn_network_free (net);
    } else {
        info->error = g_strdup (error->message);
        g_clear_error (&error);
        /* the longest prefix that builds: lo builds (0 layers: none), hi does not */
        guint lo = 0, hi = n;
        DnNetwork *best = NULL;
        while (hi - lo > 1) {
            guint mid = (lo + hi) / 2;
            JsonNode *p = prefix (network, mid);
            DnNetwork *pn = dn_network_new_from_json (p, dn_backend_cpu (), NULL);
            json_node_unref (p);
            if (pn != NULL) {
                dn_network_free (best);
                best = pn;
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if (best == NULL && n > 0) {
            /* does the first layer alone build? if not, is the input at fault? */
            JsonNode *p = prefix (network, 1);
            DnNetwork *pn = dn_network_new_from_json (p, dn_backend_cpu (), &error);
            json_node_unref (p);
            if (pn != NULL) {
                best = pn;
                lo = 1;
            } else {
                g_free (info->error);
                info->error = g_strdup (error->message);
                g_clear_error (&error);
            }
        }
        if (best != NULL) {
            fill_from_network (info, best, (int) lo);
            info->input = shape_text (&best->input_shape);
            dn_network_free (best);
            /* the layer after the longest good prefix is the one that breaks */
            JsonNode *p = prefix (network, lo + 1);
            DnNetwork *pn = dn_network_new_from_json (p, dn_backend_cpu (), &error);
            json_node_unref (p);
            if (pn == NULL) {
                g_free (info->error);
                info->error = g_strdup (error->message);
                g_clear_error (&error);
            } else {
                dn_network_free (pn);
            }
            info->error_layer = (int) lo;
        } else if (n > 0 && lo == 0) {
            /* one layer does not build on the input: layer 0, unless the input is bad */
            JsonObject *o = json_node_get_object (network);
            if (json_object_has_member (o, "input"))
                info->error_layer = 0;
        }
        if (info->error_layer >= 0 && info->error_layer < (int) n) {
            DnLayerInfo *l = g_ptr_array_index (info->layers, info->error_layer);
            l->error = g_strdup (info->error);
        }
    }

    for (guint i = 0; i < n; i++) {
        DnLayerInfo *l = g_ptr_array_index (info->layers, i);
        l->dendrites = dn_layer_dendrites_get (sel, l->name, l->type);
        if (l->dendrites == DN_LAYER_DENDRITES_PERFORATE)
            info->n_dendritic++;
    }
    if (sel != NULL && info->ok) {
        GPtrArray *warnings = NULL;
        JsonNode *wrapped = dn_dendrite_wrap_network (network, sel, &warnings, &error);
        if (wrapped == NULL) {
            info->ok = FALSE;
            info->error = g_strdup (error->message);
            g_clear_error (&error);
        } else {
            json_node_unref (wrapped);
            for (guint i = 0; i < warnings->len; i++)
                g_ptr_array_add (info->warnings, g_strdup (warnings->pdata[i]));
            g_ptr_array_unref (warnings);
        }
    }
    return info;
}
