/* dn-csv-private.h: what the CSV reader (dn-csv.c) shares with the class
 * mapping (dn-classes.c). */
#pragma once

#include "dn-data.h"

G_BEGIN_DECLS

/* More distinct labels than this: a regression target, or the wrong column. */
#define CSV_MAX_CLASSES 65536

/* Labels are kept once per distinct text (at most CSV_MAX_CLASSES + 1 of them)
 * and per row as an index into that list: four bytes a row, whatever the labels. */
typedef struct {
    char **header;     /* column names, or NULL */
    char **sk_classes; /* class names of a scikit-learn first row, or NULL */
    int n_cols;
    int label_col;
    const char *name;
    float *features; /* n_rows * (n_cols - 1) */
    gsize n_features, cap_features;
    int32_t *row_label; /* n_rows: index into texts */
    gsize n_rows, cap_rows;
    GHashTable *ids;    /* distinct label text -> index + 1 */
    GPtrArray *texts;   /* distinct label texts, in order of first appearance */
    GArray *first_line; /* int: the line where each text first appears */
} CsvLoad;

/* Parses a whole field as a finite plain decimal; the field may be rewritten. */
gboolean _dn_csv_parse_number (char *field, char delim, double *out);
/* "column 3 ('species')" or "column 3". Free with g_free. */
char *_dn_csv_column_desc (const CsvLoad *L, int col);
/* Turns every row's label into a class number in L->row_label, through cls when
 * it is not NULL (a label outside it is an error naming its line), else by this
 * file's own numbering; sets d's classes. */
gboolean _dn_csv_map_labels (CsvLoad *L, char delim, const DnClassList *cls, DnDataset *d,
                             GError **error);

G_END_DECLS
