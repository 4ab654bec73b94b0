/* dn-json.c: a JSON writer that never writes a number a parser rejects. */
#include "dn-json.h"
#include "dn-error.h"
#include "dn-run-dir.h"

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

JsonNode *dn_json_parse (const char *text, gssize len, const char *what, GError **error)
{
    gsize n = len < 0 ? strlen (text) : (gsize) len;
    int depth = 0;
    gboolean in_string = FALSE;
    for (gsize i = 0; i < n; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = FALSE;
        } else if (c == '"') {
            in_string = TRUE;
        } else if (c == '{' || c == '[') {
            if (++depth > MAX_DEPTH) {
                g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                             "%s: nests more than %d levels deep; this is not an experiment, "
                             "network or model description",
                             what, MAX_DEPTH);
                return NULL;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) local = NULL;
    if (!json_parser_load_from_data (parser, text, (gssize) n, &local)) {
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
        const char *s = json_node_get_string (node);
        if (g_utf8_strlen (s, -1) > 40) {
            g_autofree char *head = g_utf8_substring (s, 0, 40);
            return g_strdup_printf ("\"%s...\"", head);
        }
        return g_strdup_printf ("\"%s\"", s);
    }
    if (t == G_TYPE_BOOLEAN)
        return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    if (t == G_TYPE_INT64)
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    return g_strdup_printf ("%g", json_node_get_double (node));
}
