/* dn-confusion-widget.h: a confusion matrix drawn as a heat map.
 *
 * Rows are the true classes, columns the predicted ones, both named by the data's
 * class names. Each cell shows its count and is coloured by its share of the row
 * (the row-normalised rate: the diagonal is each class's recall), from the view's
 * background to the accent colour, in light and dark style. Cells too small for a
 * number keep their colour only. Drawn with cairo in snapshot from a copy of the
 * matrix; the accessible description says what is drawn.
 */
#pragma once

#include "dn-train.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DN_TYPE_CONFUSION_WIDGET (dn_confusion_widget_get_type ())
G_DECLARE_FINAL_TYPE (DnConfusionWidget, dn_confusion_widget, DN, CONFUSION_WIDGET, GtkWidget)

GtkWidget *dn_confusion_widget_new (void);
/* Copies c (NULL clears) and the class names (NULL-terminated, may be NULL: numbers). */
void dn_confusion_widget_set_matrix (DnConfusionWidget *self, const DnConfusion *c,
                                     const char *const *class_names);
/* The accessible description as set (what is drawn, in words). */
const char *dn_confusion_widget_get_summary (DnConfusionWidget *self);

G_END_DECLS
