/* dn-json.c: a JSON writer that never writes a number a parser rejects. */
#include "dn-json.h"
#include "dn-error.h"
#include "dn-file.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static void write_string (GString *s, const char *str)
{
    g_string_append_c (s, '"');
    for (const unsigned char *p = (const unsigned char *) str; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append (s, "\\\"");
            break;
        case '\\':
            g_string_append (s, "\\\\");
            break;
        case '\n':
            g_string_append (s, "\\n");
            break;
        case '\r':
            g_string_append (s, "\\r");
            break;
        case '\t':
            g_string_append (s, "\\t");
            break;
        default:
            if (*p < 0x20)
                g_string_append_printf (s, "\\u%04x", *p);
            else
                g_string_append_c (s, (char) *p);
        }
    }
    g_string_append_c (s, '"');
}

static void indent (GString *s, gboolean pretty, int depth)
{
    if (!pretty)
        return;
    g_string_append_c (s, '\n');
    for (int i = 0; i < depth; i++)
        g_string_append (s, "  ");
}

static void write_node (GString *s, JsonNode *n, gboolean pretty, int depth)
{
    switch (json_node_get_node_type (n)) {
    case JSON_NODE_NULL:
        g_string_append (s, "null");
        break;
    case JSON_NODE_VALUE: {
        GType t = json_node_get_value_type (n);
        if (t == G_TYPE_INT64) {
            g_string_append_printf (s, "%" G_GINT64_FORMAT, json_node_get_int (n));
        } else if (t == G_TYPE_DOUBLE) {
            double v = json_node_get_double (n);
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            g_string_append (s, isfinite (v) ? g_ascii_dtostr (buf, sizeof buf, v) : "null");
        } else if (t == G_TYPE_BOOLEAN) {
            g_string_append (s, json_node_get_boolean (n) ? "true" : "false");
        } else {
            write_string (s, json_node_get_string (n) ? json_node_get_string (n) : "");
        }
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array (n);
        guint len = json_array_get_length (a);
        /* short arrays of numbers stay on one line: shapes, betas */
        gboolean flat = TRUE;
        for (guint i = 0; i < len && flat; i++)
            flat = JSON_NODE_HOLDS_VALUE (json_array_get_element (a, i)) && len <= 8;
        g_string_append_c (s, '[');
        for (guint i = 0; i < len; i++) {
            if (i > 0)
                g_string_append (s, flat && pretty ? ", " : ",");
            if (!flat)
                indent (s, pretty, depth + 1);
            write_node (s, json_array_get_element (a, i), pretty, depth + 1);
        }
        if (!flat && len > 0)
            indent (s, pretty, depth);
        g_string_append_c (s, ']');
        break;
    }
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object (n);
        g_autoptr (GList) members = json_object_get_members (o);
        g_string_append_c (s, '{');
        gboolean first = TRUE;
        for (GList *m = members; m != NULL; m = m->next) {
            if (!first)
                g_string_append_c (s, ',');
            first = FALSE;
            indent (s, pretty, depth + 1);
            write_string (s, m->data);
            g_string_append (s, pretty ? ": " : ":");
            write_node (s, json_object_get_member (o, m->data), pretty, depth + 1);
        }
        if (!first)
            indent (s, pretty, depth);
        g_string_append_c (s, '}');
        break;
    }
    }
}

char *dn_json_to_string (JsonNode *node, gboolean pretty)
{
    GString *s = g_string_new (NULL);
    write_node (s, node, pretty, 0);
    if (pretty)
        g_string_append_c (s, '\n');
    return g_string_free (s, FALSE);
}

gboolean dn_json_save (JsonNode *node, const char *path, GError **error)
{
    g_autofree char *text = dn_json_to_string (node, TRUE);
    return dn_file_write_atomic (path, text, strlen (text), error);
}

#define MAX_DEPTH 64

/* One open object or array of the scan below. */
typedef struct {
    gboolean object;
    gboolean want_key; /* object: the next string is a member's key */
    char *key;         /* object: the current member's key, as written */
    guint index;       /* array: the current element */
    GHashTable *keys;  /* object: the keys seen so far */
} ScanFrame;

/* "training.optimizer.lr", "network.layers[2].name": where frames[0..depth) point. */
static char *scan_path (ScanFrame *frames, int depth)
{
    GString *s = g_string_new (NULL);
    for (int d = 0; d < depth; d++) {
        if (frames[d].object && frames[d].key != NULL)
            g_string_append_printf (s, "%s%s", s->len > 0 ? "." : "", frames[d].key);
        else if (!frames[d].object)
            g_string_append_printf (s, "[%u]", frames[d].index);
    }
    return g_string_free (s, FALSE);
}

/* Sets "<what>: <path><message>"; the path is quoted, `fmt` continues it. */
G_GNUC_PRINTF (5, 6)
static gboolean scan_fail (GError **error, const char *what, ScanFrame *frames, int depth,
                           const char *fmt, ...)
{
    g_autofree char *path = scan_path (frames, depth);
    g_autofree char *qpath = path[0] != '\0' ? dn_quote (path) : g_strdup ("the top level");
    va_list ap;
    va_start (ap, fmt);
    g_autofree char *msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: %s%s", what, qpath, msg);
    return FALSE;
}

/* Checks what json-glib does not: nesting depth (it recurses once per level),
 * keys written twice in one object (it keeps the last without a word), NUL
 * characters in strings (C strings would end there, truncating a name), and
 * whole numbers too large for 64 bits (it wraps them). Malformed text is left
 * to json-glib's own message. */
static gboolean scan_text (const char *text, gsize n, const char *what, GError **error)
{
    ScanFrame frames[MAX_DEPTH + 1];
    int depth = 0;
    gboolean ok = TRUE;
    for (gsize i = 0; ok && i < n; i++) {
        char c = text[i];
        ScanFrame *top = depth > 0 ? &frames[depth - 1] : NULL;
        if (c == '"') {
            gsize j = i + 1;
            while (ok && j < n && text[j] != '"') {
                if (text[j] == '\0' ||
                    (text[j] == '\\' && j + 5 < n && memcmp (text + j + 1, "u0000", 5) == 0)) {
                    g_autofree char *head = g_strndup (text + i + 1, j - i - 1);
                    g_autofree char *q = dn_quote (head);
                    ok = scan_fail (error, what, frames, depth,
                                    ": the string starting %s holds a NUL character, which "
                                    "would cut it short there; remove it",
                                    q);
                }
                j += text[j] == '\\' ? 2 : 1;
            }
            if (ok && top != NULL && top->object && top->want_key) {
                char *key = g_strndup (text + i + 1, MIN (j, n) - i - 1);
                if (g_hash_table_contains (top->keys, key)) {
                    g_autofree char *q = dn_quote (key);
                    ok = scan_fail (error, what, frames, depth - 1,
                                    " has the key %s twice; JSON readers keep only one of "
                                    "them, so remove the other",
                                    q);
                    g_free (key);
                } else {
                    g_hash_table_add (top->keys, key);
                    top->key = key;
                    top->want_key = FALSE;
                }
            }
            i = j;
        } else if (c == '\0') {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: holds a NUL byte at offset %" G_GSIZE_FORMAT
                         "; the file is corrupt or not JSON text",
                         what, i);
            ok = FALSE;
        } else if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH) {
                g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                             "%s: nests more than %d levels deep; this is not an experiment, "
                             "network or model description",
                             what, MAX_DEPTH);
                ok = FALSE;
                break;
            }
            frames[depth++] = (ScanFrame){
                .object = c == '{',
                .want_key = c == '{',
                .keys = c == '{' ? g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL)
                                 : NULL};
        } else if (c == '}' || c == ']') {
            if (depth > 0) {
                depth--;
                g_clear_pointer (&frames[depth].keys, g_hash_table_unref);
            }
        } else if (c == ',' && top != NULL) {
            if (top->object)
                top->want_key = TRUE;
            else
                top->index++;
        } else if (c == '-' || g_ascii_isdigit (c)) {
            gsize j = i;
            gboolean integer = TRUE;
            while (j < n && (g_ascii_isdigit (text[j]) || strchr ("+-.eE", text[j]) != NULL)) {
                integer = integer && strchr (".eE", text[j]) == NULL;
                j++;
            }
            /* most numbers fit the stack buffer; this runs for every number */
            char buf[64];
            g_autofree char *heap = NULL;
            const char *num = buf;
            if (j - i < sizeof buf) {
                memcpy (buf, text + i, j - i);
                buf[j - i] = '\0';
            } else {
                num = heap = g_strndup (text + i, j - i);
            }
            int shown = (int) MIN (j - i, (gsize) DN_QUOTE_CHARS);
            const char *more = j - i > DN_QUOTE_CHARS ? "…" : "";
            if (integer) {
                errno = 0;
                g_ascii_strtoll (num, NULL, 10);
                if (errno == ERANGE)
                    ok = scan_fail (error, what, frames, depth,
                                    " is %.*s%s, which is too large for a whole number (at most "
                                    "9223372036854775807)",
                                    shown, num, more);
            } else if (isinf (g_ascii_strtod (num, NULL))) {
                ok = scan_fail (error, what, frames, depth,
                                " is %.*s%s, which is beyond the range of a number (about 1.8e308)",
                                shown, num, more);
            }
            i = j - 1;
        }
    }
    while (depth > 0) {
        depth--;
        g_clear_pointer (&frames[depth].keys, g_hash_table_unref);
    }
    return ok;
}

typedef struct {
    GHashTable *counts; /* JsonObject* -> members parsed into it */
    char *dup_name;
} DupCheck;

static void on_member (JsonParser *parser, JsonObject *object, const char *name, gpointer data)
{
    DupCheck *dc = data;
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (dc->counts, object)) + 1;
    g_hash_table_insert (dc->counts, object, GUINT_TO_POINTER (n));
    /* json-glib replaces a repeated member, so the object stops growing */
    if (dc->dup_name == NULL && json_object_get_size (object) < n)
        dc->dup_name = g_strdup (name);
}

JsonNode *dn_json_parse (const char *text, gssize len, const char *what, GError **error)
{
    gsize n = len < 0 ? strlen (text) : (gsize) len;
    if (!scan_text (text, n, what, error))
        return NULL;
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) local = NULL;
    /* keys that differ only in their escapes ("a" and "\u0061") pass the scan */
    DupCheck dc = {g_hash_table_new (NULL, NULL), NULL};
    g_signal_connect (parser, "object-member", G_CALLBACK (on_member), &dc);
    gboolean parsed = json_parser_load_from_data (parser, text, (gssize) n, &local);
    g_signal_handlers_disconnect_by_data (parser, &dc);
    g_hash_table_unref (dc.counts);
    g_autofree char *dup = dc.dup_name;
    if (parsed && dup != NULL) {
        g_autofree char *q = dn_quote (dup);
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: an object has the key %s twice (once written with escapes); JSON "
                     "readers keep only one of them, so remove the other",
                     what, q);
        return NULL;
    }
    if (!parsed) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: not valid JSON: %s", what,
                     local->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root (parser);
    if (root == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: empty", what);
        return NULL;
    }
    return json_node_copy (root);
}

char *dn_json_describe (JsonNode *node)
{
    switch (json_node_get_node_type (node)) {
    case JSON_NODE_NULL:
        return g_strdup ("null");
    case JSON_NODE_ARRAY:
        return g_strdup ("an array");
    case JSON_NODE_OBJECT:
        return g_strdup ("an object");
    case JSON_NODE_VALUE:
        break;
    }
    GType t = json_node_get_value_type (node);
    if (t == G_TYPE_STRING) {
        return dn_quote (json_node_get_string (node));
    }
    if (t == G_TYPE_BOOLEAN)
        return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    if (t == G_TYPE_INT64)
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    return g_strdup_printf ("%g", json_node_get_double (node));
}
