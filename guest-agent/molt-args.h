/* Typed access to a request's "arguments" object.
 *
 * Every getter reports a wrong or missing argument as InvalidParameter with
 * the argument's name, so a client sees exactly what it got wrong. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean molt_args_get_string (JsonObject *args, const gchar *name, gboolean required,
                               const gchar **out, GError **error);
/* An array of strings; *out is NULL when absent and not required. */
gboolean molt_args_get_strv (JsonObject *args, const gchar *name, gboolean required, GStrv *out,
                             GError **error);
gboolean molt_args_get_int (JsonObject *args, const gchar *name, gboolean required, gint64 min,
                            gint64 max, gint64 *out, GError **error);

/* *out keeps default_value when the argument is absent. */
gboolean molt_args_get_bool (JsonObject *args, const gchar *name, gboolean default_value,
                             gboolean *out, GError **error);

G_END_DECLS
