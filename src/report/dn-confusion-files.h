/* dn-confusion-files.h: a confusion matrix as a CSV table.
 *
 * One row per true class: its name, the counts predicted as each class (one
 * column per class, headed "pred_<name>"), then support (samples of the class),
 * recall and precision of that class as fractions (empty when undefined: no
 * sample of the class, or none predicted as it). Numbers ignore the locale;
 * UTF-8, '\n' line ends, RFC 4180 quoting. Class names are the data's
 * (class_names, n_classes entries, may be NULL: the class numbers).
 */
#pragma once

#include "dn-train.h"

G_BEGIN_DECLS

/* g_free */
char *dn_confusion_csv (const DnConfusion *c, const char *const *class_names);
/* Written atomically; FALSE + error naming the path. */
gboolean dn_confusion_write_csv (const DnConfusion *c, const char *const *class_names,
                                 const char *path, GError **error);

G_END_DECLS
