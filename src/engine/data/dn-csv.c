/* dn-csv.c: tabular datasets from CSV text.
 *
 * RFC 4180 records: fields split by one delimiter (',' ';' or tab, detected
 * from the first rows when not given), double quotes around fields that hold
 * delimiters, quotes ("") or line breaks, LF or CRLF line ends. Blank lines and
 * a UTF-8 byte-order mark are skipped. Every column but the label column is a
 * numeric feature (a decimal comma is accepted when the delimiter is not a
 * comma). Labels are names (mapped to 0.. in order of first appearance, kept
 * in class_names) or numbers (used as they are when they are the integers
 * 0..K-1 starting at 0, otherwise the distinct values are mapped in sorted
 * order and kept, as text, in class_names); with DnCsvOptions.classes they are
 * looked up in the training data's list instead (dn-classes.c).
 *
 * The text is read whole, at most DN_CSV_MAX_BYTES, and may hold no NUL byte
 * (a binary file, or UTF-16 text). Each row keeps its features and a four-byte
 * index into the distinct label texts, and every buffer the rows grow fails
 * with a message rather than an abort.
 *
 * scikit-learn's bundled CSVs open with a row "n_samples,n_features,name0,
 * name1,..." instead of a header; that row is recognised (its first two fields
 * equal the number of data rows and of features) and gives the class names.
 */
#include "dn-csv-private.h"
#include "dn-error.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CSV_SNIFF_ROWS 10

void dn_csv_options_init (DnCsvOptions *opts)
{
    memset (opts, 0, sizeof *opts);
    opts->label_name = NULL;
    opts->label_index = -1;
    opts->header = -1;
    opts->delimiter = 0;
}

/* ---- the tokenizer ---- */

typedef struct {
    const char *p, *end;
    const char *name;
    char delim;
    int line;     /* physical line of p, 1-based */
    int rec_line; /* line on which the current record starts */
    GString *buf; /* the current record's fields, each NUL-terminated */
    GArray *offs; /* gsize: where each field starts in buf */
} CsvReader;

static void csv_reader_init (CsvReader *r, const char *text, gsize len, const char *name,
                             char delim)
{
    r->p = text;
    r->end = text + len;
    r->name = name;
    r->delim = delim;
    r->line = 1;
    r->rec_line = 1;
    r->buf = g_string_sized_new (256);
    r->offs = g_array_new (FALSE, FALSE, sizeof (gsize));
    if (len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
        r->p += 3;
}

static void csv_reader_clear (CsvReader *r)
{
    g_string_free (r->buf, TRUE);
    g_array_free (r->offs, TRUE);
}

static guint csv_n_fields (const CsvReader *r)
{
    return r->offs->len;
}

static char *csv_field (const CsvReader *r, guint i)
{
    return r->buf->str + g_array_index (r->offs, gsize, i);
}

static gboolean is_blank (const char *s)
{
    for (; *s != '\0'; s++)
        if (!g_ascii_isspace (*s))
            return FALSE;
    return TRUE;
}

/* Reads the next record: 1, or 0 at the end of the text, or -1 with error set. */
static int csv_next (CsvReader *r, GError **error)
{
    for (;;) {
        if (r->p >= r->end)
            return 0;
        g_string_truncate (r->buf, 0);
        g_array_set_size (r->offs, 0);
        r->rec_line = r->line;
        gboolean quoted = FALSE;
        for (;;) {
            gsize start = r->buf->len;
            g_array_append_val (r->offs, start);
            if (r->p < r->end && *r->p == '"') {
                quoted = TRUE;
                r->p++;
                for (;;) {
                    const char *q = r->p;
                    while (q < r->end && *q != '"' && *q != '\n')
                        q++;
                    g_string_append_len (r->buf, r->p, q - r->p);
                    r->p = q;
                    if (q >= r->end) {
                        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                                     "'%s' line %d: a quoted field is never closed; add the "
                                     "closing \" (a quote inside a field is written \"\")",
                                     r->name, r->rec_line);
                        return -1;
                    }
                    if (*q == '\n') {
                        r->line++;
                        g_string_append_c (r->buf, '\n');
                        r->p++;
                    } else if (q + 1 < r->end && q[1] == '"') {
                        g_string_append_c (r->buf, '"');
                        r->p += 2;
                    } else {
                        r->p++;
                        break;
                    }
                }
            }
            /* Unquoted text, or (leniently) text after a closing quote. */
            const char *q = r->p;
            while (q < r->end && *q != r->delim && *q != '\n' && *q != '\r')
                q++;
            g_string_append_len (r->buf, r->p, q - r->p);
            g_string_append_c (r->buf, '\0');
            r->p = q;
            if (r->p < r->end && *r->p == r->delim) {
                r->p++;
                continue;
            }
            if (r->p < r->end && *r->p == '\r') {
                r->p++;
                if (r->p < r->end && *r->p == '\n')
                    r->p++;
                r->line++;
            } else if (r->p < r->end && *r->p == '\n') {
                r->p++;
                r->line++;
            }
            break;
        }
        if (csv_n_fields (r) == 1 && !quoted && is_blank (csv_field (r, 0)))
            continue;
        return 1;
    }
}

/* ---- numbers ---- */

/* Plain decimals ("-12.375") with at most 15 significant digits: exact in a
 * double, so one correctly rounded division gives what strtod would. Most CSV
 * numbers take this path; the rest go to g_ascii_strtod. */
static gboolean parse_plain_decimal (const char *s, double *out)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s;
    gboolean neg = FALSE, dot = FALSE, any = FALSE;
    guint64 m = 0;
    int digits = 0, frac = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    for (;; p++) {
        if (*p >= '0' && *p <= '9') {
            m = m * 10 + (guint64) (*p - '0');
            if (m != 0 && ++digits > 15)
                return FALSE;
            frac += dot;
            any = TRUE;
        } else if (*p == '.' && !dot) {
            dot = TRUE;
        } else {
            break;
        }
    }
    if (!any || *p != '\0' || frac >= (int) G_N_ELEMENTS (pow10))
        return FALSE;
    double v = (double) m / pow10[frac];
    *out = neg ? -v : v;
    return TRUE;
}

/* Parses a whole field as a finite number (trimmed; a decimal comma is taken
 * when the delimiter is not a comma). The field may be rewritten in place. */
gboolean _dn_csv_parse_number (char *field, char delim, double *out)
{
    char *s = g_strstrip (field);
    /* strtod would also take hex, "nan" and "inf": only plain decimals are features. */
    if (*s == '\0' || s[strspn (s, "0123456789+-.eE,")] != '\0')
        return FALSE;
    char *comma = strchr (s, ',');
    if (comma != NULL) {
        /* A decimal comma, possible only where commas do not split fields. */
        if (delim == ',' || strchr (comma + 1, ',') != NULL || strchr (s, '.') != NULL)
            return FALSE;
        *comma = '.';
    }
    if (comma == NULL && parse_plain_decimal (s, out))
        return TRUE;
    char *endp = NULL;
    double v = g_ascii_strtod (s, &endp);
    gboolean ok = endp != s && *endp == '\0' && isfinite (v) && fabs (v) <= FLT_MAX;
    if (comma != NULL)
        *comma = ',';
    if (ok)
        *out = v;
    return ok;
}

static gboolean field_is_number (char *field, char delim)
{
    double v;
    return _dn_csv_parse_number (field, delim, &v);
}

static gboolean parse_count (char *field, long *out)
{
    double v;
    if (!_dn_csv_parse_number (field, ',', &v) || v < 0 || v != floor (v) || v > INT_MAX)
        return FALSE;
    *out = (long) v;
    return TRUE;
}

/* ---- delimiter and header detection ---- */

/* The candidate whose first rows all have the same number (>= 2) of fields,
 * the most fields winning; else the one splitting the first row most. */
static char detect_delimiter (const char *text, gsize len)
{
    const char cands[] = {',', ';', '\t'};
    char best = ',', best_any = ',';
    guint best_n = 0, best_any_n = 0;
    for (gsize c = 0; c < G_N_ELEMENTS (cands); c++) {
        CsvReader r;
        csv_reader_init (&r, text, len, "", cands[c]);
        guint first = 0;
        gboolean consistent = TRUE;
        int rows = 0;
        while (rows < CSV_SNIFF_ROWS && csv_next (&r, NULL) == 1) {
            if (rows == 0)
                first = csv_n_fields (&r);
            else if (csv_n_fields (&r) != first)
                consistent = FALSE;
            rows++;
        }
        csv_reader_clear (&r);
        if (rows > 0 && consistent && first >= 2 && first > best_n) {
            best = cands[c];
            best_n = first;
        }
        if (first > best_any_n) {
            best_any = cands[c];
            best_any_n = first;
        }
    }
    return best_n > 0 ? best : best_any;
}

/* ---- the loader ---- */

static const char *delim_name (char delim)
{
    switch (delim) {
    case ',':
        return "','";
    case ';':
        return "';'";
    case '\t':
        return "tab";
    default:
        return "the delimiter";
    }
}

char *_dn_csv_column_desc (const CsvLoad *L, int col)
{
    if (L->header != NULL && col < (int) g_strv_length (L->header))
        return g_strdup_printf ("column %d ('%s')", col + 1, L->header[col]);
    return g_strdup_printf ("column %d", col + 1);
}

static gboolean resolve_label_column (CsvLoad *L, const char *name, const DnCsvOptions *opts,
                                      GError **error)
{
    if (opts->label_name != NULL) {
        if (L->header == NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "'%s': the label column is given by name ('%s') but the file has no "
                         "header row; give its index instead",
                         name, opts->label_name);
            return FALSE;
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int j = 0; L->header[j] != NULL; j++) {
                gboolean same = pass == 0
                                    ? strcmp (L->header[j], opts->label_name) == 0
                                    : g_ascii_strcasecmp (L->header[j], opts->label_name) == 0;
                if (same) {
                    L->label_col = j;
                    return TRUE;
                }
            }
        }
        g_autofree char *cols = g_strjoinv (", ", L->header);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "'%s' has no column named '%s'; its columns are: %s", name, opts->label_name,
                     cols);
        return FALSE;
    }
    int idx = opts->label_index < 0 ? L->n_cols + opts->label_index : opts->label_index;
    if (idx < 0 || idx >= L->n_cols) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "'%s': label column index %d is out of range; the file has %d columns "
                     "(use 0..%d, or -1 for the last)",
                     name, opts->label_index, L->n_cols, L->n_cols - 1);
        return FALSE;
    }
    L->label_col = idx;
    return TRUE;
}

static gboolean too_many_classes (const char *name, const CsvLoad *L, guint n, GError **error)
{
    if (n <= CSV_MAX_CLASSES)
        return FALSE;
    g_autofree char *col = _dn_csv_column_desc (L, L->label_col);
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "'%s': the label %s has %u distinct values, more than %d classes; is it a "
                 "regression target, or is the wrong column the label?",
                 name, col, n, CSV_MAX_CLASSES);
    return TRUE;
}

/* Grows *buf (of *cap items of `size` bytes) to hold `need` items, or says how
 * much memory the file needs. */
static gboolean grow (gpointer *buf, gsize *cap, gsize need, gsize size, const char *what,
                      const char *name, GError **error)
{
    if (need <= *cap)
        return TRUE;
    gsize cap2 = MAX (MAX (*cap * 2, need), (gsize) 1024);
    gpointer bigger = cap2 <= G_MAXSIZE / size ? g_try_realloc (*buf, cap2 * size) : NULL;
    if (bigger == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory reading '%s': its %s need %.1f MB; free some memory or "
                     "split the file",
                     name, what, (double) cap2 * (double) size / 1e6);
        return FALSE;
    }
    *buf = bigger;
    *cap = cap2;
    return TRUE;
}

/* Decides whether the first record (in r) is a scikit-learn "n,f,names..." row
 * by counting the records; fills L->sk_classes if so. */
static gboolean detect_sklearn (CsvReader *r, const char *text, gsize len, const char *name,
                                CsvLoad *L)
{
    long n_rows, n_feat;
    if (csv_n_fields (r) < 2)
        return FALSE;
    g_autofree char *f0 = g_strdup (csv_field (r, 0));
    g_autofree char *f1 = g_strdup (csv_field (r, 1));
    if (!parse_count (f0, &n_rows) || !parse_count (f1, &n_feat))
        return FALSE;
    CsvReader c;
    csv_reader_init (&c, text, len, name, r->delim);
    /* Every data row: n_feat + 1 fields, the last a class index below the names' count. */
    guint nf = csv_n_fields (r);
    long rows = -1, label;
    gboolean rows_ok = TRUE;
    while (csv_next (&c, NULL) == 1) {
        if (rows >= 0 &&
            ((long) csv_n_fields (&c) != n_feat + 1 ||
             !parse_count (csv_field (&c, (guint) n_feat), &label) || label >= (long) nf - 2)) {
            rows_ok = FALSE;
            break;
        }
        rows++;
    }
    csv_reader_clear (&c);
    if (!rows_ok || rows != n_rows || rows <= 0)
        return FALSE;
    L->sk_classes = g_new0 (char *, nf - 1);
    for (guint j = 2; j < nf; j++)
        L->sk_classes[j - 2] = g_strstrip (g_strdup (csv_field (r, j)));
    return TRUE;
}

/* Copies the current record's fields into a NULL-terminated array. */
static char **record_strv (const CsvReader *r)
{
    char **v = g_new0 (char *, csv_n_fields (r) + 1);
    for (guint j = 0; j < csv_n_fields (r); j++)
        v[j] = g_strstrip (g_strdup (csv_field (r, j)));
    return v;
}

static gboolean add_row (CsvLoad *L, CsvReader *r, int first_line, GError **error)
{
    if ((int) csv_n_fields (r) != L->n_cols) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' line %d has %u fields but line %d has %d; every row needs the same "
                     "columns (a field holding %s must be quoted)",
                     r->name, r->rec_line, csv_n_fields (r), first_line, L->n_cols,
                     delim_name (r->delim));
        return FALSE;
    }
    if (L->n_rows >= (gsize) INT_MAX) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "'%s' has more than %d rows", r->name,
                     INT_MAX);
        return FALSE;
    }
    gsize nf = (gsize) L->n_cols - 1;
    if (!grow ((gpointer *) &L->features, &L->cap_features, L->n_features + nf, sizeof (float),
               "features", r->name, error) ||
        !grow ((gpointer *) &L->row_label, &L->cap_rows, L->n_rows + 1, sizeof (int32_t),
               "labels", r->name, error))
        return FALSE;
    for (int j = 0; j < L->n_cols; j++) {
        if (j == L->label_col)
            continue;
        double v;
        char *field = csv_field (r, (guint) j);
        if (!_dn_csv_parse_number (field, r->delim, &v)) {
            g_autofree char *col = _dn_csv_column_desc (L, j);
            g_autofree char *shown = g_utf8_make_valid (field, MIN (strlen (field), 40));
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "'%s' line %d, %s: '%s' is not a number; features must be numbers "
                         "(encode categories as numbers, fill in missing values)",
                         r->name, r->rec_line, col, shown);
            return FALSE;
        }
        L->features[L->n_features++] = (float) v;
    }
    char *label = g_strstrip (csv_field (r, (guint) L->label_col));
    if (*label == '\0') {
        g_autofree char *col = _dn_csv_column_desc (L, L->label_col);
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' line %d, %s: the label is empty; every row needs a label", r->name,
                     r->rec_line, col);
        return FALSE;
    }
    gpointer id = g_hash_table_lookup (L->ids, label);
    if (id == NULL) {
        if (too_many_classes (r->name, L, L->texts->len + 1, error))
            return FALSE;
        char *copy = g_strdup (label);
        g_ptr_array_add (L->texts, copy);
        g_array_append_val (L->first_line, r->rec_line);
        id = GUINT_TO_POINTER (L->texts->len);
        g_hash_table_insert (L->ids, copy, id);
    }
    L->row_label[L->n_rows++] = (int32_t) GPOINTER_TO_UINT (id) - 1;
    return TRUE;
}

/* A NUL byte is never CSV text: a binary file, or text saved as UTF-16. */
static gboolean check_no_nul (const char *text, gsize len, const char *name, int line0,
                              GError **error)
{
    /* an empty file may come as (NULL, 0), and memchr must not see a NULL */
    const char *nul = len > 0 ? memchr (text, '\0', len) : NULL;
    if (nul == NULL)
        return TRUE;
    int line = line0;
    for (const char *p = text; p < nul; p++)
        line += *p == '\n';
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "'%s' line %d holds a NUL (zero) byte, which CSV text never does; is it a "
                 "binary file, or text saved as UTF-16? Save it as UTF-8 text",
                 name, line);
    return FALSE;
}

DnDataset *dn_dataset_parse_csv (const char *text, gsize len, const char *name,
                                 const DnCsvOptions *opts_in, GError **error)
{
    DnCsvOptions defaults;
    const DnCsvOptions *opts = opts_in;
    if (opts == NULL) {
        dn_csv_options_init (&defaults);
        opts = &defaults;
    }
    if (!check_no_nul (text, len, name, 1, error))
        return NULL;
    char delim = opts->delimiter != 0 ? opts->delimiter : detect_delimiter (text, len);
    CsvReader r;
    CsvLoad L = {0};
    DnDataset *d = NULL;
    csv_reader_init (&r, text, len, name, delim);
    L.name = name;
    L.ids = g_hash_table_new (g_str_hash, g_str_equal);
    L.texts = g_ptr_array_new_with_free_func (g_free);
    L.first_line = g_array_new (FALSE, FALSE, sizeof (int));

    int rc = csv_next (&r, error);
    if (rc < 0)
        goto out;
    if (rc == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' is empty; a CSV file needs one row per sample (numeric features and "
                     "a label)",
                     name);
        goto out;
    }
    char **row1 = record_strv (&r);
    int row1_line = r.rec_line;
    gboolean sklearn = opts->header != 0 && detect_sklearn (&r, text, len, name, &L);
    rc = csv_next (&r, error);
    if (rc < 0) {
        g_strfreev (row1);
        goto out;
    }
    gboolean header;
    if (sklearn)
        header = TRUE;
    else if (opts->header >= 0)
        header = opts->header != 0;
    else if (opts->label_name != NULL)
        header = TRUE;
    else {
        /* A header: some field that is not a number above one that is (or, in a
         * one-row file, no number at all). */
        guint n1 = g_strv_length (row1);
        guint n_text = 0;
        header = FALSE;
        for (guint j = 0; j < n1; j++) {
            if (field_is_number (row1[j], delim))
                continue;
            n_text++;
            if (rc == 1 && j < csv_n_fields (&r) && field_is_number (csv_field (&r, j), delim))
                header = TRUE;
        }
        if (rc == 0)
            header = n_text == n1;
    }

    int first_line;
    if (header) {
        if (!sklearn)
            L.header = row1;
        else
            g_strfreev (row1);
        row1 = NULL;
        if (rc == 0) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "'%s' has a header row but no data rows; add one row per sample", name);
            goto out;
        }
        first_line = r.rec_line;
        L.n_cols = (int) csv_n_fields (&r);
        if (L.header != NULL && (int) g_strv_length (L.header) != L.n_cols) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "'%s' line %d has %d fields but the header (line %d) names %u "
                         "columns; every row needs the same columns",
                         name, r.rec_line, L.n_cols, row1_line, g_strv_length (L.header));
            goto out;
        }
    } else {
        g_strfreev (row1);
        /* The first record is data: read it again as such. */
        csv_reader_clear (&r);
        csv_reader_init (&r, text, len, name, delim);
        rc = csv_next (&r, error);
        first_line = r.rec_line;
        L.n_cols = (int) csv_n_fields (&r);
    }
    if (L.n_cols < 2) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' line %d has a single column; a CSV dataset needs at least one "
                     "feature and a label (is the delimiter %s right? set it in the options)",
                     name, first_line, delim_name (delim));
        goto out;
    }
    if (!resolve_label_column (&L, name, opts, error))
        goto out;
    for (; rc == 1; rc = csv_next (&r, error))
        if (!add_row (&L, &r, first_line, error))
            goto out;
    if (rc < 0)
        goto out;

    /* Room for at least one element: the element type stays visible in an empty set. */
    if (!grow ((gpointer *) &L.features, &L.cap_features, 1, sizeof (float), "features", name,
               error) ||
        !grow ((gpointer *) &L.row_label, &L.cap_rows, 1, sizeof (int32_t), "labels", name, error))
        goto out;
    d = g_new0 (DnDataset, 1);
    d->source = g_strdup (name);
    d->n = (int) L.n_rows;
    d->shape = dn_shape_1d (L.n_cols - 1);
    if (!_dn_csv_map_labels (&L, delim, opts->classes, d, error)) {
        dn_dataset_free (d);
        d = NULL;
        goto out;
    }
    d->labels = g_steal_pointer (&L.row_label);
    d->f32 = g_steal_pointer (&L.features);

out:
    csv_reader_clear (&r);
    g_free (L.features);
    g_free (L.row_label);
    g_hash_table_destroy (L.ids);
    g_ptr_array_free (L.texts, TRUE);
    g_array_free (L.first_line, TRUE);
    g_strfreev (L.header);
    g_strfreev (L.sk_classes);
    return d;
}

static void too_big (const char *path, guint64 max_bytes, GError **error)
{
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "'%s' is larger than %" G_GUINT64_FORMAT " bytes (%.1f MB), the most a CSV "
                 "file may hold; split it into smaller files",
                 path, max_bytes, max_bytes / 1e6);
}

/* Reads at most max_bytes of path (a file, a pipe or a device), checking each
 * chunk for NUL bytes so that a binary stream such as /dev/zero stops at once. */
static char *read_bounded (const char *path, guint64 max_bytes, gsize *len, GError **error)
{
    FILE *f = fopen (path, "rb");
    if (f == NULL) {
        int e = errno;
        if (e == ENOENT)
            g_set_error (error, DN_ERROR, DN_ERROR_IO,
                         "The CSV file '%s' does not exist; check the path", path);
        else
            g_set_error (error, DN_ERROR, DN_ERROR_IO, "Cannot read the CSV file '%s': %s", path,
                         g_strerror (e));
        return NULL;
    }
    /* a regular file says its size: refuse a large one before reading it */
    struct stat st;
    if (fstat (fileno (f), &st) == 0 && S_ISREG (st.st_mode) && (guint64) st.st_size > max_bytes) {
        too_big (path, max_bytes, error);
        fclose (f);
        return NULL;
    }
    char *buf = NULL;
    gsize got = 0, cap = 0;
    int line = 1;
    for (;;) {
        if (got == cap) {
            gsize cap2 = MIN (MAX (cap * 2, (gsize) 1 << 16), (gsize) max_bytes + 1);
            if (cap2 <= cap) {
                too_big (path, max_bytes, error);
                goto fail;
            }
            char *bigger = g_try_realloc (buf, cap2 + 1);
            if (bigger == NULL) {
                g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                             "out of memory reading the CSV file '%s': it needs %.1f MB", path,
                             cap2 / 1e6);
                goto fail;
            }
            buf = bigger;
            cap = cap2;
        }
        size_t n = fread (buf + got, 1, cap - got, f);
        if (!check_no_nul (buf + got, n, path, line, error))
            goto fail;
        for (size_t i = 0; i < n; i++)
            line += buf[got + i] == '\n';
        got += n;
        if (n == 0) {
            if (ferror (f)) {
                g_set_error (error, DN_ERROR, DN_ERROR_IO, "Cannot read the CSV file '%s': %s",
                             path, g_strerror (errno));
                goto fail;
            }
            break;
        }
    }
    if (got > max_bytes) {
        too_big (path, max_bytes, error);
        goto fail;
    }
    fclose (f);
    buf[got] = '\0';
    *len = got;
    return buf;
fail:
    fclose (f);
    g_free (buf);
    return NULL;
}

DnDataset *dn_dataset_load_csv (const char *path, const DnCsvOptions *opts, GError **error)
{
    guint64 max = opts != NULL && opts->max_bytes > 0 ? opts->max_bytes : DN_CSV_MAX_BYTES;
    gsize len = 0;
    g_autofree char *text = read_bounded (path, max, &len, error);
    if (text == NULL)
        return NULL;
    return dn_dataset_parse_csv (text, len, path, opts, error);
}
