/* Typed reads of agent replies: missing members, wrong types, ranges. */
#include <string.h>

#include "molt-host-error.h"
#include "molt-message.h"
#include "molt-reply.h"
#include "molt-test.h"

static JsonObject *
parse (const gchar *text)
{
  g_autoptr (JsonNode) node = molt_json_parse_bounded (text, NULL);
  return json_object_ref (json_node_get_object (node));
}

static void
test_string (void)
{
  g_autoptr (JsonObject) obj = parse ("{\"s\":\"x\",\"n\":5,\"o\":{},\"z\":null}");
  g_autoptr (GError) error = NULL;
  const gchar *out = "unchanged";

  CU_ASSERT_TRUE (molt_reply_get_string (obj, "info", "s", 0, &out, &error));
  CU_ASSERT_STRING_EQUAL (out, "x");
  out = "unchanged";
  CU_ASSERT_TRUE (
      molt_reply_get_string (obj, "info", "missing", MOLT_REPLY_OPTIONAL, &out, &error));
  CU_ASSERT_TRUE (molt_reply_get_string (obj, "info", "z", MOLT_REPLY_OPTIONAL, &out, &error));
  CU_ASSERT_STRING_EQUAL (out, "unchanged");
  MOLT_ASSERT_NO_ERROR (error);

  CU_ASSERT_FALSE (molt_reply_get_string (obj, "info", "missing", 0, &out, &error));
  MOLT_ASSERT_ERROR (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL);
  MOLT_ASSERT_CONTAINS (error->message, "'info' lacks a string member 'missing'");
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_reply_get_string (obj, "info", "o", MOLT_REPLY_OPTIONAL, &out, &error));
  MOLT_ASSERT_CONTAINS (error->message, "has an object as member 'o', not a string");
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_reply_get_string (obj, "info", "n", 0, &out, &error));
  MOLT_ASSERT_CONTAINS (error->message, "has an integer as member 'n', not a string");
  CU_ASSERT_STRING_EQUAL (out, "unchanged");
}

static void
test_int_range (void)
{
  g_autoptr (JsonObject) obj
      = parse ("{\"n\":5,\"big\":9223372036854775807,\"neg\":-3,\"f\":1.5,\"s\":\"1\"}");
  g_autoptr (GError) error = NULL;
  gint64 out = 42;

  CU_ASSERT_TRUE (molt_reply_get_int (obj, "job-list", "n", 0, 10, 0, &out, &error));
  CU_ASSERT_EQUAL (out, 5);
  CU_ASSERT_FALSE (molt_reply_get_int (obj, "job-list", "big", 0, G_MAXINT32, 0, &out, &error));
  MOLT_ASSERT_CONTAINS (error->message, "9223372036854775807 as member 'big', outside");
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_reply_get_int (obj, "job-list", "neg", 0, 10, 0, &out, &error));
  g_clear_error (&error);
  /* The string "1" is not the number 1. */
  CU_ASSERT_FALSE (molt_reply_get_int (obj, "job-list", "s", 0, 10, 0, &out, &error));
  MOLT_ASSERT_CONTAINS (error->message, "a string as member 's', not an integer");
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_reply_get_int (obj, "job-list", "f", 0, 10, 0, &out, &error));
  MOLT_ASSERT_CONTAINS (error->message, "a number as member 'f'");
  CU_ASSERT_EQUAL (out, 5);
}

static void
test_bool_object_array (void)
{
  g_autoptr (JsonObject) obj = parse ("{\"b\":true,\"o\":{\"x\":1},\"a\":[1,{}],\"s\":\"t\"}");
  g_autoptr (GError) error = NULL;
  gboolean b = FALSE;
  JsonObject *o = NULL;
  JsonArray *a = NULL;

  CU_ASSERT_TRUE (molt_reply_get_bool (obj, "info", "b", 0, &b, &error));
  CU_ASSERT_TRUE (b);
  CU_ASSERT_TRUE (molt_reply_get_object (obj, "info", "o", 0, &o, &error));
  CU_ASSERT_PTR_NOT_NULL (o);
  CU_ASSERT_TRUE (molt_reply_get_array (obj, "info", "a", 0, &a, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_PTR_NULL (molt_reply_array_object (a, "x", 0, &error));
  MOLT_ASSERT_CONTAINS (error->message, "an integer as element 0, not an object");
  g_clear_error (&error);
  CU_ASSERT_PTR_NOT_NULL (molt_reply_array_object (a, "x", 1, &error));
  CU_ASSERT_FALSE (molt_reply_get_bool (obj, "info", "s", 0, &b, &error));
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_reply_get_object (obj, "info", "a", 0, &o, &error));
  MOLT_ASSERT_CONTAINS (error->message, "a list as member 'a', not an object");
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_reply_get_array (obj, "info", "missing", 0, &a, &error));
  MOLT_ASSERT_ERROR (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL);
}

static void
test_whole_reply (void)
{
  g_autoptr (JsonNode) str = json_node_init_string (json_node_alloc (), "x");
  g_autoptr (GError) error = NULL;

  CU_ASSERT_PTR_NULL (molt_reply_as_object (str, "info", &error));
  MOLT_ASSERT_CONTAINS (error->message, "reply to 'info' is a string, not an object");
  g_clear_error (&error);
  CU_ASSERT_PTR_NULL (molt_reply_as_array (str, "job-list", &error));
  MOLT_ASSERT_CONTAINS (error->message, "not a list");
}

/* What a guest could send to a terminal comes out visible and inert. */
static void
test_excerpt_terminal (void)
{
  g_autofree gchar *title = molt_text_excerpt ("\x1b]0;owned\x07job", 100);
  g_autofree gchar *csi = molt_text_excerpt ("a\xc2\x9b"
                                             "31mb",
                                             100);
  g_autofree gchar *utf8 = molt_text_excerpt ("caf\xc3\xa9 \xe2\x9c\x93", 100);
  g_autofree gchar *invalid = molt_text_excerpt ("a\xff\xc3", 100);
  g_autofree gchar *cut = molt_text_excerpt ("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 2);
  g_autofree gchar *lines = molt_text_excerpt ("a\nb\tc\x7f", 100);

  CU_ASSERT_STRING_EQUAL (title, "\\x1b]0;owned\\x07job");
  CU_ASSERT_STRING_EQUAL (csi, "a\\xc2\\x9b31mb");
  CU_ASSERT_STRING_EQUAL (utf8, "caf\xc3\xa9 \xe2\x9c\x93");
  CU_ASSERT_STRING_EQUAL (invalid, "a\\xff\\xc3");
  CU_ASSERT_STRING_EQUAL (cut, "\xc3\xa9\xc3\xa9...");
  CU_ASSERT_STRING_EQUAL (lines, "a\\x0ab\\x09c\\x7f");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "string members", test_string },
    { "integer members and ranges", test_int_range },
    { "boolean, object and list members", test_bool_object_array },
    { "the whole reply's type", test_whole_reply },
    { "terminal-safe excerpts of guest text", test_excerpt_terminal },
    { NULL, NULL },
  };
  return molt_test_run ("reply", cases);
}
