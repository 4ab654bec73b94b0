/* dn-application.h: Dendrite Studio's AdwApplication.
 *
 * Owns the preferences (GSettings org.dendrite.Studio, found in the build
 * tree when the app runs uninstalled; dn-paths.h reads the folders from
 * them), the application actions (about,
 * preferences, quit) and their shortcuts, and opens windows: one per
 * activation and one per file handed to it.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_APP_ID "org.dendrite.Studio"

#define DN_TYPE_APPLICATION (dn_application_get_type ())
G_DECLARE_FINAL_TYPE (DnApplication, dn_application, DN, APPLICATION, AdwApplication)

DnApplication *dn_application_new (void);
GSettings *dn_application_get_settings (DnApplication *self);

/* The settings when there is an application, else NULL (widget tests). */
GSettings *dn_settings (void);

G_END_DECLS
