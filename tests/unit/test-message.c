/* Request and reply parsing: valid, garbage, wrong types, hostile nesting. */
#include <string.h>

#include "molt-message.h"
#include "molt-protocol-error.h"
#include "molt-test.h"

static void
test_request_valid (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltRequest) req = molt_request_parse (
      "{\"execute\":\"job-start\",\"arguments\":{\"name\":\"x\"},\"id\":7}", &error);

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (req->execute, "job-start");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (req->arguments, "name"), "x");
  CU_ASSERT_EQUAL (json_node_get_int (req->id), 7);
}

static void
test_request_without_arguments (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltRequest) req = molt_request_parse ("{\"execute\":\"info\"}", &error);

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_PTR_NOT_NULL (req->arguments);
  CU_ASSERT_PTR_NULL (req->id);
}

static void
expect_request_error (const char *line, MoltProtocolErrorCode code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltRequest) req = molt_request_parse (line, &error);

  CU_ASSERT_PTR_NULL (req);
  MOLT_ASSERT_ERROR (error, MOLT_PROTOCOL_ERROR, code);
  MOLT_ASSERT_CONTAINS (error->message, needle);
}

static void
test_request_errors (void)
{
  expect_request_error ("garbage", MOLT_PROTOCOL_ERROR_PARSE, "not valid JSON");
  expect_request_error ("{\"execute\":", MOLT_PROTOCOL_ERROR_PARSE, "not valid JSON");
  expect_request_error ("[1,2]", MOLT_PROTOCOL_ERROR_PARSE, "must be a JSON object");
  expect_request_error ("{}", MOLT_PROTOCOL_ERROR_INVALID_PARAMETER, "'execute'");
  expect_request_error ("{\"execute\":5}", MOLT_PROTOCOL_ERROR_INVALID_PARAMETER, "'execute'");
  expect_request_error ("{\"execute\":\"x\",\"arguments\":[1]}",
                        MOLT_PROTOCOL_ERROR_INVALID_PARAMETER, "'arguments'");
  expect_request_error ("{\"execute\":\"x\",\"id\":{}}", MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                        "'id'");
  expect_request_error ("{\"execute\":\"\xc3\x28\"}", MOLT_PROTOCOL_ERROR_PARSE, "UTF-8");
  /* Valid UTF-8 on the wire, but json-glib decodes GScanner's octal escapes
   * ("\333" is the byte 0xDB): found by fuzz-protocol, a request that did not
   * survive its own build/parse round trip. */
  expect_request_error ("{\"execute\":\"a\\333b\"}", MOLT_PROTOCOL_ERROR_PARSE, "escape '\\3'");
  expect_request_error ("{\"execute\":\"x\",\"arguments\":{\"\\333\":1}}",
                        MOLT_PROTOCOL_ERROR_PARSE, "escape '\\3'");
  expect_request_error ("{\"execute\":\"x\",\"arguments\":{\"k\":[\"\\x41\"]}}",
                        MOLT_PROTOCOL_ERROR_PARSE, "escape '\\x'");
}

static void
test_deep_nesting_rejected (void)
{
  GString *deep = g_string_new ("{\"execute\":\"x\",\"arguments\":{\"a\":");
  g_autofree gchar *text = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  text = g_string_free (deep, FALSE);
  expect_request_error (text, MOLT_PROTOCOL_ERROR_PARSE, "nests deeper");
}

static void
test_brackets_in_strings_ignored (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) s = g_string_new ("{\"execute\":\"");
  g_autoptr (MoltRequest) req = NULL;

  for (int i = 0; i < 100; i++)
    g_string_append (s, "[{\\\"");
  g_string_append (s, "\"}");
  req = molt_request_parse (s->str, &error);
  MOLT_ASSERT_NO_ERROR (error);
}

static void
test_reply_return_and_error (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltReply) ok = molt_reply_parse ("{\"return\":{\"x\":1},\"id\":3}", &error);
  g_autoptr (MoltReply) bad = NULL;
  g_autoptr (GError) propagated = NULL;

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_FALSE (molt_reply_is_error (ok));
  CU_ASSERT_TRUE (molt_reply_id_equals (ok, 3));
  CU_ASSERT_FALSE (molt_reply_id_equals (ok, 4));

  bad = molt_reply_parse ("{\"error\":{\"class\":\"NotFound\",\"desc\":\"no job\"},\"id\":3}",
                          &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE (molt_reply_is_error (bad));
  molt_reply_propagate_error (bad, &propagated);
  MOLT_ASSERT_ERROR (propagated, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_NOT_FOUND);
  CU_ASSERT_STRING_EQUAL (propagated->message, "no job");
}

static void
test_reply_hostile (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltReply) odd = NULL;
  g_autoptr (GError) propagated = NULL;
  g_autoptr (MoltReply) none = NULL;

  /* Unknown class and non-string desc: generic, never a crash. */
  odd = molt_reply_parse ("{\"error\":{\"class\":\"Martian\",\"desc\":42}}", &error);
  MOLT_ASSERT_NO_ERROR (error);
  molt_reply_propagate_error (odd, &propagated);
  MOLT_ASSERT_ERROR (propagated, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC);
  CU_ASSERT_FALSE (molt_reply_id_equals (odd, 0));

  none = molt_reply_parse ("{\"id\":1}", &error);
  CU_ASSERT_PTR_NULL (none);
  MOLT_ASSERT_ERROR (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE);
}

static void
test_build_round_trip (void)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autofree gchar *line = NULL;
  g_autoptr (MoltRequest) req = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) err
      = g_error_new (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_EXISTS, "dup \"x\"\n");
  g_autofree gchar *reply_line = NULL;
  g_autoptr (MoltReply) reply = NULL;

  json_object_set_string_member (args, "name", "a\nb\"c");
  line = molt_request_build ("job-stop", args, 99);
  CU_ASSERT_EQUAL (strchr (line, '\n'), line + strlen (line) - 1); /* one line */
  g_strchomp (line);
  req = molt_request_parse (line, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (req->arguments, "name"), "a\nb\"c");

  reply_line = molt_reply_build_error (err, req->id);
  g_strchomp (reply_line);
  reply = molt_reply_parse (reply_line, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (reply->error_class, "AlreadyExists");
  CU_ASSERT_TRUE (molt_reply_id_equals (reply, 99));
}

static void
test_excerpt (void)
{
  g_autofree gchar *e = molt_text_excerpt ("ab\x01\\cdef", 5);
  CU_ASSERT_STRING_EQUAL (e, "ab\\x01\\x5cc...");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "valid request", test_request_valid },
    { "request without arguments", test_request_without_arguments },
    { "request errors", test_request_errors },
    { "deep nesting rejected", test_deep_nesting_rejected },
    { "brackets inside strings", test_brackets_in_strings_ignored },
    { "reply return and error", test_reply_return_and_error },
    { "hostile replies", test_reply_hostile },
    { "build and parse round trip", test_build_round_trip },
    { "printable excerpt", test_excerpt },
    { NULL, NULL },
  };
  return molt_test_run ("message", cases);
}
