/* dn-config-reader.c: typed fields of a configuration object, and their messages. */
#include "dn-config-reader.h"
#include "dn-error.h"
#include "dn-json.h"

#include <math.h>
#include <string.h>

DnFieldReader dn_fields_reader (JsonObject *obj, const char *what, const char *section,
                                DnFieldsFlags flags, GError **error)
{
    return (DnFieldReader){
        .obj = obj, .what = what, .section = section, .flags = flags, .error = error};
}

void dn_fields_clear (DnFieldReader *r)
{
    g_clear_pointer (&r->owned, g_free);
}

/* ---- messages ---- */

/* What comes before a field's name: `exp.json: "training".`, `layer 'fc1' (linear): `,
 * `optimizer `. */
static void append_place (GString *s, const DnFieldReader *r)
{
    if (r->what != NULL) {
        g_string_append_printf (s, "%s: ", r->what);
        if (r->section != NULL)
            g_string_append_printf (s, "\"%s\".", r->section);
    } else if (r->section != NULL) {
        g_string_append_printf (s, "%s ", r->section);
    }
}

/* Sets the error for a field (index >= 0: its element) whose value `got` breaks
 * `rule`; got NULL: the field is missing. */
static gboolean fail_with (DnFieldReader *r, const char *key, int index, const char *got,
                           const char *rule)
{
    GString *s = g_string_new (NULL);
    append_place (s, r);
    g_string_append_printf (s, "\"%s\"", key);
    if (index >= 0)
        g_string_append_printf (s, "[%d]", index);
    if (got == NULL)
        g_string_append_printf (s, " is missing; it must be %s", rule);
    else if (r->what != NULL)
        g_string_append_printf (s, " is %s; it must be %s", got, rule);
    else
        g_string_append_printf (s, " must be %s, got %s", rule, got);
    g_set_error_literal (r->error, DN_ERROR, DN_ERROR_CONFIG, s->str);
    g_string_free (s, TRUE);
    return FALSE;
}

static gboolean fail_node (DnFieldReader *r, const char *key, int index, JsonNode *node,
                           const char *rule)
{
    g_autofree char *got = node != NULL ? dn_json_describe (node) : NULL;
    return fail_with (r, key, index, got, rule);
}

gboolean dn_fields_fail (DnFieldReader *r, const char *key, const char *rule)
{
    JsonNode *n = r->obj != NULL ? json_object_get_member (r->obj, key) : NULL;
    return fail_node (r, key, -1, n, rule);
}

static gboolean is_required (const DnFieldReader *r, const char *key)
{
    return r->required != NULL && g_strv_contains (r->required, key);
}

JsonNode *dn_fields_member (DnFieldReader *r, const char *key)
{
    JsonNode *n = r->obj != NULL ? json_object_get_member (r->obj, key) : NULL;
    if (n != NULL && JSON_NODE_HOLDS_NULL (n) && (r->flags & DN_FIELDS_NULL_IS_ABSENT))
        return NULL;
    return n;
}

/* The member, or NULL with *ok TRUE when it is absent (and may be), FALSE when it
 * is required (the error is set, naming `rule`). */
static JsonNode *member (DnFieldReader *r, const char *key, const char *rule, gboolean *ok)
{
    JsonNode *n = dn_fields_member (r, key);
    *ok = n != NULL || !is_required (r, key) || fail_with (r, key, -1, NULL, rule);
    return n;
}

/* ---- unknown fields ---- */

/* Levenshtein distance, for "did you mean". Field names are short. */
static int edit_distance (const char *a, const char *b)
{
    int la = (int) strlen (a), lb = (int) strlen (b);
    if (la > 80 || lb > 80)
        return 1000;
    int prev[81], cur[81];
    for (int j = 0; j <= lb; j++)
        prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            cur[j] = MIN (sub, MIN (prev[j] + 1, cur[j - 1] + 1));
        }
        memcpy (prev, cur, sizeof (int) * (size_t) (lb + 1));
    }
    return prev[lb];
}

static void append_names (GString *s, const char *first, const char *const *names)
{
    gboolean any = first != NULL;
    if (first != NULL)
        g_string_append_printf (s, "\"%s\"", first);
    for (int i = 0; names[i] != NULL; i++, any = TRUE)
        g_string_append_printf (s, "%s\"%s\"", any ? ", " : "", names[i]);
}

/* `key` is in none of the lists: "unknown field", then the nearest known name when
 * one is close, else every known name (`kind`: the fields of that kind). */
static gboolean unknown_field (DnFieldReader *r, const char *key, const char *first,
                               const char *const *known, const char *kind)
{
    g_autofree char *q = dn_quote (key);
    GString *s = g_string_new (NULL);
    if (r->what != NULL) {
        g_string_append_printf (s, "%s: unknown field %s", r->what, q);
        if (r->section != NULL)
            g_string_append_printf (s, " in \"%s\"", r->section);
    } else {
        g_string_append_printf (s, "%s%sfield %s is unknown", r->section ? r->section : "",
                                r->section ? " " : "", q);
    }
    const char *best = first;
    int best_d = first != NULL ? edit_distance (key, first) : 1000;
    for (int i = 0; known[i] != NULL; i++) {
        int d = edit_distance (key, known[i]);
        if (d < best_d) {
            best_d = d;
            best = known[i];
        }
    }
    if (best != NULL && best_d <= MAX (2, (int) strlen (key) / 5)) {
        g_string_append_printf (s, "; did you mean \"%s\"?", best);
    } else if (kind != NULL) {
        g_string_append_printf (s, "; \"%s\" reads ", kind);
        if (known[0] == NULL)
            g_string_append (s, "only ");
        append_names (s, first, known);
    } else if (known[0] == NULL) {
        g_string_append (s, "; it has no fields");
    } else {
        g_string_append (s, "; known fields are ");
        append_names (s, first, known);
    }
    g_set_error_literal (r->error, DN_ERROR, DN_ERROR_CONFIG, s->str);
    g_string_free (s, TRUE);
    return FALSE;
}

static gboolean allowed (const DnFieldReader *r, const char *key, const char *const *known)
{
    return g_strv_contains (known, key) ||
           (r->ignored != NULL && g_strv_contains (r->ignored, key));
}

gboolean dn_fields_check_keys (DnFieldReader *r, const char *const *known)
{
    if (r->obj == NULL)
        return TRUE;
    g_autoptr (GList) members = json_object_get_members (r->obj);
    for (GList *m = members; m != NULL; m = m->next) {
        if (!allowed (r, m->data, known))
            return unknown_field (r, m->data, NULL, known, NULL);
    }
    return TRUE;
}

gboolean dn_fields_check_kind_keys (DnFieldReader *r, const char *kind_key,
                                    const char *const *kinds, const char *const *const *kind_fields,
                                    int kind)
{
    if (r->obj == NULL)
        return TRUE;
    g_autoptr (GList) members = json_object_get_members (r->obj);
    for (GList *m = members; m != NULL; m = m->next) {
        const char *key = m->data;
        if (g_str_equal (key, kind_key) || allowed (r, key, kind_fields[kind]))
            continue;
        GString *owners = g_string_new (NULL);
        for (int k = 0; kinds[k] != NULL; k++) {
            if (g_strv_contains (kind_fields[k], key))
                g_string_append_printf (owners, "%s\"%s\"", owners->len ? ", " : "", kinds[k]);
        }
        if (owners->len == 0) {
            g_string_free (owners, TRUE);
            return unknown_field (r, key, kind_key, kind_fields[kind], kinds[kind]);
        }
        GString *s = g_string_new (NULL);
        append_place (s, r);
        g_string_append_printf (s,
                                "\"%s\" does not apply to \"%s\"; remove it (it is a setting of "
                                "%s)",
                                key, kinds[kind], owners->str);
        g_set_error_literal (r->error, DN_ERROR, DN_ERROR_CONFIG, s->str);
        g_string_free (s, TRUE);
        g_string_free (owners, TRUE);
        return FALSE;
    }
    return TRUE;
}

/* ---- values ---- */

static gboolean node_number (JsonNode *n, double *out)
{
    if (!JSON_NODE_HOLDS_VALUE (n))
        return FALSE;
    GType t = json_node_get_value_type (n);
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return FALSE;
    *out = json_node_get_double (n);
    return isfinite (*out);
}

/* A whole number, exactly: 5, or 5.0 within the range of 64 bits. */
static gboolean node_whole (JsonNode *n, gint64 *out)
{
    if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64) {
        *out = json_node_get_int (n);
        return TRUE;
    }
    double v;
    if (!node_number (n, &v) || v != floor (v) || v < -0x1p63 || v >= 0x1p63)
        return FALSE;
    *out = (gint64) v;
    return TRUE;
}

static gboolean node_string (JsonNode *n)
{
    return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING;
}

gboolean dn_range_contains (const DnRange *g, double v)
{
    if (!isfinite (v) || (g->whole && v != floor (v)))
        return FALSE;
    if (v < g->min || (g->min_open && v <= g->min))
        return FALSE;
    return !(v > g->max || (g->max_open && v >= g->max));
}

static void append_bound (GString *s, double v)
{
    if (v == floor (v) && fabs (v) < 1e15)
        g_string_append_printf (s, "%.0f", v);
    else
        g_string_append_printf (s, "%g", v);
}

/* "a number in [0, 1)"; plural: "numbers in [0, 1)". */
static char *describe (const DnRange *g, gboolean plural)
{
    /* a whole number's bound at an int's own limit is no bound worth naming */
    gboolean lo = isfinite (g->min) && !(g->whole && g->min <= G_MININT);
    gboolean hi = isfinite (g->max) && !(g->whole && g->max >= G_MAXINT);
    GString *s = g_string_new (plural ? "" : "a ");
    g_string_append_printf (s, "%snumber%s",
                            g->whole   ? "whole "
                            : lo || hi ? ""
                                       : "finite ",
                            plural ? "s" : "");
    if (lo && hi && g->whole && !g->min_open && !g->max_open) {
        g_string_append (s, " between ");
        append_bound (s, g->min);
        g_string_append (s, " and ");
        append_bound (s, g->max);
    } else if (lo && hi) {
        g_string_append (s, g->min_open ? " in (" : " in [");
        append_bound (s, g->min);
        g_string_append (s, ", ");
        append_bound (s, g->max);
        g_string_append (s, g->max_open ? ")" : "]");
    } else if (lo || hi) {
        g_string_append_printf (s, " %s%s ", lo ? ">" : "<",
                                (lo ? g->min_open : g->max_open) ? "" : "=");
        append_bound (s, lo ? g->min : g->max);
    }
    return g_string_free (s, FALSE);
}

char *dn_range_describe (const DnRange *range)
{
    return describe (range, FALSE);
}

gboolean dn_fields_bool (DnFieldReader *r, const char *key, gboolean *out)
{
    gboolean ok;
    JsonNode *n = member (r, key, "true or false", &ok);
    if (n == NULL)
        return ok;
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
        return fail_node (r, key, -1, n, "true or false");
    *out = json_node_get_boolean (n);
    return TRUE;
}

gboolean dn_fields_int64 (DnFieldReader *r, const char *key, gint64 min, gint64 max, gint64 *out)
{
    DnRange g = {.min = (double) min, .max = (double) max, .whole = TRUE};
    g_autofree char *rule = describe (&g, FALSE);
    gboolean ok;
    JsonNode *n = member (r, key, rule, &ok);
    if (n == NULL)
        return ok;
    gint64 v;
    if (!node_whole (n, &v) || v < min || v > max)
        return fail_node (r, key, -1, n, rule);
    *out = v;
    return TRUE;
}

gboolean dn_fields_int (DnFieldReader *r, const char *key, int min, int max, int *out)
{
    gint64 v = *out;
    if (!dn_fields_int64 (r, key, min, max, &v))
        return FALSE;
    *out = (int) v;
    return TRUE;
}

gboolean dn_fields_number_in (DnFieldReader *r, const char *key, const DnRange *range, double *out)
{
    g_autofree char *rule = describe (range, FALSE);
    gboolean ok;
    JsonNode *n = member (r, key, rule, &ok);
    if (n == NULL)
        return ok;
    double v;
    if (!node_number (n, &v) || !dn_range_contains (range, v))
        return fail_node (r, key, -1, n, rule);
    *out = v;
    return TRUE;
}

gboolean dn_fields_number (DnFieldReader *r, const char *key, double min, double max, double *out)
{
    return dn_fields_number_in (r, key, &(DnRange){.min = min, .max = max}, out);
}

gboolean dn_fields_string (DnFieldReader *r, const char *key, char **out)
{
    gboolean ok;
    JsonNode *n = member (r, key, "a string", &ok);
    if (n == NULL)
        return ok;
    if (!node_string (n))
        return fail_node (r, key, -1, n, "a string");
    g_free (*out);
    *out = g_strdup (json_node_get_string (n));
    return TRUE;
}

/* `"a" or "b"`, `one of "a", "b", "c"`; strings: what a value of another type is told. */
static char *choices (const char *const *names, gboolean strings)
{
    guint n = g_strv_length ((char **) names);
    GString *s = g_string_new (NULL);
    if (n > 2)
        g_string_append (s, strings ? "one of the strings " : "one of ");
    else if (strings)
        g_string_append (s, "the string ");
    for (guint i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : (n == 2 ? " or " : ", ");
        g_string_append_printf (s, "%s\"%s\"", sep, names[i]);
    }
    return g_string_free (s, FALSE);
}

gboolean dn_fields_enum (DnFieldReader *r, const char *key, const char *const *names,
                         const char *const *aliases, int *out)
{
    g_autofree char *rule = choices (names, FALSE);
    gboolean ok;
    JsonNode *n = member (r, key, rule, &ok);
    if (n == NULL)
        return ok;
    if (!node_string (n)) {
        g_autofree char *typed = choices (names, TRUE);
        return fail_node (r, key, -1, n, typed);
    }
    const char *s = json_node_get_string (n);
    for (int i = 0; names[i] != NULL; i++) {
        if (g_ascii_strcasecmp (s, names[i]) == 0 ||
            (aliases != NULL && aliases[i] != NULL && g_ascii_strcasecmp (s, aliases[i]) == 0)) {
            *out = i;
            return TRUE;
        }
    }
    return fail_node (r, key, -1, n, rule);
}

/* ---- arrays ---- */

static const char *const count_words[] = {"no", "one", "two", "three", "four"};

/* "two numbers in [0, 1)", "an array of 1 to 16 numbers"; `each` is the plural rule
 * of one value, or "of them" after a bare value's rule. */
static void append_list_rule (GString *s, const char *each, int min_len, int max_len)
{
    if (min_len == max_len && min_len < (int) G_N_ELEMENTS (count_words))
        g_string_append_printf (s, "%s %s", count_words[min_len], each);
    else if (min_len == max_len)
        g_string_append_printf (s, "an array of %d %s", min_len, each);
    else if (max_len == G_MAXINT && min_len == 0)
        g_string_append_printf (s, "an array of %s", each);
    else if (max_len == G_MAXINT)
        g_string_append_printf (s, "an array of at least %d %s", min_len, each);
    else if (min_len == 0)
        g_string_append_printf (s, "an array of at most %d %s", max_len, each);
    else
        g_string_append_printf (s, "an array of %d to %d %s", min_len, max_len, each);
}

/* An array of `count` values where min_len to max_len belong: a fixed length is
 * part of the rule ("two numbers"), a range of lengths is said on its own. */
static gboolean fail_length (DnFieldReader *r, const char *key, guint count, int min_len,
                             int max_len, const char *rule)
{
    const char *s = count == 1 ? "" : "s";
    if (min_len == max_len) {
        g_autofree char *got =
            g_strdup_printf ("%s%u value%s", r->what ? "an array of " : "", count, s);
        return fail_with (r, key, -1, got, rule);
    }
    GString *m = g_string_new (NULL);
    append_place (m, r);
    g_string_append_printf (m, "\"%s\" ", key);
    if (r->what != NULL)
        g_string_append_printf (m, "has %u value%s; it must have ", count, s);
    else
        g_string_append (m, "must have ");
    if (max_len == G_MAXINT)
        g_string_append_printf (m, "at least %d", min_len);
    else if (min_len == 0)
        g_string_append_printf (m, "at most %d", max_len);
    else
        g_string_append_printf (m, "%d to %d", min_len, max_len);
    g_string_append (m, " values");
    if (r->what == NULL)
        g_string_append_printf (m, ", got %u", count);
    g_set_error_literal (r->error, DN_ERROR, DN_ERROR_CONFIG, m->str);
    g_string_free (m, TRUE);
    return FALSE;
}

/* Checks one value of a list; NULL `range`: a string. */
static gboolean element_ok (JsonNode *e, const DnRange *range)
{
    if (range == NULL)
        return node_string (e);
    if (range->whole) {
        gint64 v;
        return node_whole (e, &v) && dn_range_contains (range, (double) v);
    }
    double v;
    return node_number (e, &v) && dn_range_contains (range, v);
}

/* Checks the member as a list of values that element_ok accepts; *elements receives
 * its values (one, for a bare value) and *len their number; *elements is NULL when
 * the member is absent. The JsonNodes are the object's. */
static gboolean read_list (DnFieldReader *r, const char *key, const DnRange *range,
                           const char *single, const char *plural, int min_len, int max_len,
                           gboolean bare, JsonNode ***elements, int *len)
{
    GString *rule = g_string_new (NULL);
    if (bare)
        g_string_append_printf (rule, "%s, or ", single);
    append_list_rule (rule, bare ? "of them" : plural, min_len, max_len);
    gboolean ok;
    JsonNode *n = member (r, key, rule->str, &ok);
    *elements = NULL;
    if (n == NULL || !ok) {
        g_string_free (rule, TRUE);
        return ok;
    }
    if (bare && JSON_NODE_HOLDS_VALUE (n) && element_ok (n, range)) {
        g_string_free (rule, TRUE);
        *elements = g_new (JsonNode *, 1);
        (*elements)[0] = n;
        *len = 1;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_ARRAY (n)) {
        fail_node (r, key, -1, n, rule->str);
        g_string_free (rule, TRUE);
        return FALSE;
    }
    JsonArray *a = json_node_get_array (n);
    guint count = json_array_get_length (a);
    if (count < (guint) min_len || count > (guint) max_len) {
        fail_length (r, key, count, min_len, max_len, rule->str);
        g_string_free (rule, TRUE);
        return FALSE;
    }
    g_string_free (rule, TRUE);
    for (guint i = 0; i < count; i++) {
        if (!element_ok (json_array_get_element (a, i), range))
            return fail_node (r, key, (int) i, json_array_get_element (a, i), single);
    }
    *elements = g_new (JsonNode *, MAX (count, 1));
    for (guint i = 0; i < count; i++)
        (*elements)[i] = json_array_get_element (a, i);
    *len = (int) count;
    return TRUE;
}

gboolean dn_fields_number_list (DnFieldReader *r, const char *key, const DnRange *each, int min_len,
                                int max_len, gboolean bare, double *out, int *n)
{
    g_autofree char *single = describe (each, FALSE);
    g_autofree char *plural = describe (each, TRUE);
    g_autofree JsonNode **elements = NULL;
    int len = 0;
    if (!read_list (r, key, each, single, plural, min_len, max_len, bare, &elements, &len))
        return FALSE;
    for (int i = 0; elements != NULL && i < len; i++)
        out[i] = json_node_get_double (elements[i]);
    if (elements != NULL)
        *n = len;
    return TRUE;
}

gboolean dn_fields_int_list (DnFieldReader *r, const char *key, int min, int max, int min_len,
                             int max_len, gboolean bare, int *out, int *n)
{
    DnRange g = {.min = min, .max = max, .whole = TRUE};
    g_autofree char *single = describe (&g, FALSE);
    g_autofree char *plural = describe (&g, TRUE);
    g_autofree JsonNode **elements = NULL;
    int len = 0;
    if (!read_list (r, key, &g, single, plural, min_len, max_len, bare, &elements, &len))
        return FALSE;
    for (int i = 0; elements != NULL && i < len; i++) {
        gint64 v = 0;
        node_whole (elements[i], &v);
        out[i] = (int) v;
    }
    if (elements != NULL)
        *n = len;
    return TRUE;
}

gboolean dn_fields_string_list (DnFieldReader *r, const char *key, char ***out)
{
    g_autofree JsonNode **elements = NULL;
    int len = 0;
    if (!read_list (r, key, NULL, "a string", "strings", 0, G_MAXINT, FALSE, &elements, &len))
        return FALSE;
    if (elements == NULL)
        return TRUE;
    char **v = g_new0 (char *, len + 1);
    for (int i = 0; i < len; i++)
        v[i] = g_strdup (json_node_get_string (elements[i]));
    g_strfreev (*out);
    *out = v;
    return TRUE;
}

gboolean dn_fields_object (DnFieldReader *r, const char *key, DnFieldReader *child)
{
    *child = dn_fields_reader (NULL, r->what, key, r->flags, r->error);
    JsonNode *n = r->obj != NULL ? json_object_get_member (r->obj, key) : NULL;
    if (n == NULL)
        return !is_required (r, key) || fail_with (r, key, -1, NULL, "an object");
    if (!JSON_NODE_HOLDS_OBJECT (n))
        return fail_node (r, key, -1, n, "an object");
    child->obj = json_node_get_object (n);
    return TRUE;
}
