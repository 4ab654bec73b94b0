/* dn-busy-indicator.h: a small "working" sign that costs the main loop only a redraw.
 *
 * GtkSpinner (GTK 4.8) turns through a CSS animation, and each of its frames
 * queues a new layout of the whole window; on X11 every such layout asks the
 * X server for the monitor's work area (three synchronous round trips), sixty
 * times a second, and the main loop stalls whenever the X server waits for a
 * CPU (bench/app). This indicator draws twelve spokes with cairo and moves
 * one spoke a twelfth of a second apart from a timeout that only queues a
 * redraw. With animations turned off (gtk-enable-animations) it stands still.
 * For screen readers it is a busy progress bar, as GtkSpinner is.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DN_TYPE_BUSY_INDICATOR (dn_busy_indicator_get_type ())
G_DECLARE_FINAL_TYPE (DnBusyIndicator, dn_busy_indicator, DN, BUSY_INDICATOR, GtkWidget)

GtkWidget *dn_busy_indicator_new (void);
void dn_busy_indicator_set_spinning (DnBusyIndicator *self, gboolean spinning);
gboolean dn_busy_indicator_get_spinning (DnBusyIndicator *self);

G_END_DECLS
