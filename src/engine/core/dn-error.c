#include "dn-error.h"

#include <string.h>

G_DEFINE_QUARK (dn - error - quark, dn_error)

gpointer dn_try_malloc0 (gsize n_bytes, const char *what, GError **error)
{
    gpointer p = g_try_malloc0 (n_bytes ? n_bytes : 1);
    if (p == NULL)
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "Out of memory: %s needs %.1f MB; use a smaller batch or network", what,
                     n_bytes / 1e6);
    return p;
}

/* Characters that would move the cursor, recolour the terminal or reorder
 * the text around them: C0 and C1 controls, DEL, and the Unicode bidi marks,
 * embeddings, overrides and isolates (Trojan Source). */
static gboolean is_hostile (gunichar c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

char *dn_quote (const char *value)
{
    if (value == NULL)
        return g_strdup ("(none)");
    GString *s = g_string_new ("\"");
    const char *p = value;
    int shown = 0;
    while (*p != '\0') {
        if (shown == DN_QUOTE_CHARS) {
            g_string_append (s, "…");
            break;
        }
        gunichar c = g_utf8_get_char_validated (p, -1);
        if (c == (gunichar) -1 || c == (gunichar) -2) {
            g_string_append_printf (s, "\\x%02x", (guint) (guchar) *p);
            p++;
        } else {
            if (c == '"' || c == '\\')
                g_string_append_printf (s, "\\%c", (char) c);
            else if (is_hostile (c))
                g_string_append_printf (s, "\\u%04x", (guint) c);
            else
                g_string_append_unichar (s, c);
            p = g_utf8_next_char (p);
        }
        shown++;
    }
    g_string_append_c (s, '"');
    return g_string_free (s, FALSE);
}

char *dn_quote_inner (const char *value)
{
    char *q = dn_quote (value);
    gsize n = strlen (q);
    if (value == NULL || n < 2)
        return q;
    memmove (q, q + 1, n - 2);
    q[n - 2] = '\0';
    return q;
}

gboolean dn_check_name (const char *name, gboolean as_folder, const char *what, GError **error)
{
    g_autofree char *shown = dn_quote (name);
    if (name == NULL || name[0] == '\0') {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "%s is empty; give it a short name%s", what,
                     as_folder ? " (it is used as a folder name)" : "");
        return FALSE;
    }
    if (!g_utf8_validate (name, -1, NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s %s is not valid UTF-8; use letters, digits, '-' and '_'", what, shown);
        return FALSE;
    }
    glong n = g_utf8_strlen (name, -1);
    if (n > DN_NAME_MAX_CHARS) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s %s has %ld characters; names hold at most %d, so shorten it", what, shown,
                     n, DN_NAME_MAX_CHARS);
        return FALSE;
    }
    for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p)) {
        gunichar c = g_utf8_get_char (p);
        if (is_hostile (c)) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "%s %s contains the control character U+%04X (a terminal escape, line "
                         "break or bidirectional override); remove it",
                         what, shown, (guint) c);
            return FALSE;
        }
    }
    if (!as_folder)
        return TRUE;
    if (g_str_equal (name, ".") || g_str_equal (name, "..") || strchr (name, '/') != NULL ||
        strchr (name, '\\') != NULL || name[0] == '-') {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s %s is used as a folder name; it cannot be \".\" or \"..\", contain '/' "
                     "or '\\', or start with '-'",
                     what, shown);
        return FALSE;
    }
    return TRUE;
}
