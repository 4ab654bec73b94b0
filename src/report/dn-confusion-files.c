/* dn-confusion-files.c: the confusion matrix CSV. */
#include "dn-confusion-files.h"

#include "dn-chart-private.h"
#include "dn-file.h"

#include <math.h>
#include <string.h>

static char *class_name (const char *const *names, int k)
{
    if (names != NULL) {
        for (int i = 0; i <= k; i++)
            if (names[i] == NULL)
                return g_strdup_printf ("%d", k);
        return g_strdup (names[k]);
    }
    return g_strdup_printf ("%d", k);
}

static void put_fraction (GString *s, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_c (s, ',');
    if (isfinite (v))
        g_string_append (s, dn_chart_format_double (buf, sizeof buf, v));
}

char *dn_confusion_csv (const DnConfusion *c, const char *const *class_names)
{
    GString *s = g_string_new ("class");
    for (int p = 0; p < c->n_classes; p++) {
        g_autofree char *name = class_name (class_names, p);
        g_autofree char *head = g_strconcat ("pred_", name, NULL);
        g_string_append_c (s, ',');
        dn_run_files_put_text (s, head);
    }
    g_string_append (s, ",support,recall,precision\n");
    for (int t = 0; t < c->n_classes; t++) {
        g_autofree char *name = class_name (class_names, t);
        dn_run_files_put_text (s, name);
        int64_t support = 0;
        for (int p = 0; p < c->n_classes; p++) {
            g_string_append_printf (s, ",%" G_GINT64_FORMAT, (gint64) dn_confusion_at (c, t, p));
            support += dn_confusion_at (c, t, p);
        }
        g_string_append_printf (s, ",%" G_GINT64_FORMAT, (gint64) support);
        put_fraction (s, dn_confusion_recall (c, t));
        put_fraction (s, dn_confusion_precision (c, t));
        g_string_append_c (s, '\n');
    }
    return g_string_free (s, FALSE);
}

gboolean dn_confusion_write_csv (const DnConfusion *c, const char *const *class_names,
                                 const char *path, GError **error)
{
    g_autofree char *text = dn_confusion_csv (c, class_names);
    return dn_file_write_atomic (path, text, strlen (text), error);
}
