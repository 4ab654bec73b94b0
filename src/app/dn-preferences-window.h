/* dn-preferences-window.h: the preferences (GSettings org.dendrite.Studio):
 * output and export folders, CPU threads, device, light or dark style. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_PREFERENCES_WINDOW (dn_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (DnPreferencesWindow, dn_preferences_window, DN, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

/* settings may be NULL (no schema installed): the rows are then insensitive. */
GtkWidget *dn_preferences_window_new (GSettings *settings);

G_END_DECLS
