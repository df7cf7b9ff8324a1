/* Framing: lines, splits, caps and 0xFF resynchronisation. */
#include <string.h>

#include "molt-line-reader.h"
#include "molt-test.h"

static void
feed (MoltLineReader *r, const char *s)
{
  molt_line_reader_feed (r, (const guint8 *) s, strlen (s));
}

static void
expect_line (MoltLineReader *r, const char *expected)
{
  g_autofree gchar *line = NULL;
  MoltLineStatus status = molt_line_reader_next (r, &line);

  CU_ASSERT_EQUAL (status, MOLT_LINE_OK);
  CU_ASSERT_STRING_EQUAL (line != NULL ? line : "(null)", expected);
}

static void
expect_status (MoltLineReader *r, MoltLineStatus expected)
{
  g_autofree gchar *line = NULL;
  CU_ASSERT_EQUAL (molt_line_reader_next (r, &line), expected);
}

static void
test_whole_lines (void)
{
  g_autoptr (MoltLineReader) r = molt_line_reader_new (64);

  feed (r, "{\"a\":1}\n{\"b\":2}\r\n\n");
  expect_line (r, "{\"a\":1}");
  expect_line (r, "{\"b\":2}");
  expect_status (r, MOLT_LINE_NONE); /* empty lines are skipped */
}

static void
test_split_across_reads (void)
{
  g_autoptr (MoltLineReader) r = molt_line_reader_new (64);
  const char *text = "{\"execute\":\"sync\"}\n";

  for (const char *p = text; *p != '\0'; p++)
    {
      expect_status (r, MOLT_LINE_NONE);
      molt_line_reader_feed (r, (const guint8 *) p, 1);
    }
  expect_line (r, "{\"execute\":\"sync\"}");
}

static void
test_oversized_dropped_once (void)
{
  g_autoptr (MoltLineReader) r = molt_line_reader_new (8);

  feed (r, "0123456789abcdef");
  expect_status (r, MOLT_LINE_OVERSIZED);
  feed (r, "more of the same long line");
  expect_status (r, MOLT_LINE_NONE);
  feed (r, "\nok\n");
  expect_line (r, "ok");
  expect_status (r, MOLT_LINE_NONE);
}

static void
test_exactly_at_cap (void)
{
  g_autoptr (MoltLineReader) r = molt_line_reader_new (4);

  feed (r, "abcd\nabcde\nxy\n");
  expect_line (r, "abcd");
  expect_status (r, MOLT_LINE_OVERSIZED);
  expect_line (r, "xy");
}

static void
test_delimiter_resets_partial (void)
{
  g_autoptr (MoltLineReader) r = molt_line_reader_new (64);

  feed (r, "{\"half\":");
  feed (r, "\xff{\"whole\":1}\n");
  expect_status (r, MOLT_LINE_DELIMITER);
  expect_line (r, "{\"whole\":1}");
}

static void
test_delimiter_ends_oversize (void)
{
  g_autoptr (MoltLineReader) r = molt_line_reader_new (4);

  feed (r, "aaaaaaaa");
  expect_status (r, MOLT_LINE_OVERSIZED);
  feed (r, "bbbb\xffok\n");
  expect_status (r, MOLT_LINE_DELIMITER);
  expect_line (r, "ok");
}

static void
test_skip_to_delimiter (void)
{
  g_autoptr (MoltLineReader) r = molt_line_reader_new (64);

  feed (r, "stale 1\n");
  molt_line_reader_skip_to_delimiter (r);
  feed (r, "stale 2\nstale 3\n");
  expect_status (r, MOLT_LINE_NONE);
  feed (r, "x\xff"
           "fresh\n");
  expect_status (r, MOLT_LINE_DELIMITER);
  expect_line (r, "fresh");
}

static void
test_binary_bytes_kept (void)
{
  g_autoptr (MoltLineReader) r = molt_line_reader_new (64);
  const guint8 data[] = { 'a', 0x00, 'b', 0xfe, '\n' };
  g_autofree gchar *line = NULL;

  molt_line_reader_feed (r, data, sizeof data);
  CU_ASSERT_EQUAL (molt_line_reader_next (r, &line), MOLT_LINE_OK);
  CU_ASSERT_EQUAL (line[0], 'a');
  CU_ASSERT_EQUAL (line[1], '\0'); /* the parser sees a short string, not a crash */
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "whole lines", test_whole_lines },
    { "split across reads", test_split_across_reads },
    { "oversized line dropped once", test_oversized_dropped_once },
    { "line exactly at the cap", test_exactly_at_cap },
    { "0xFF resets a partial line", test_delimiter_resets_partial },
    { "0xFF ends an oversized line", test_delimiter_ends_oversize },
    { "skip to delimiter", test_skip_to_delimiter },
    { "binary bytes", test_binary_bytes_kept },
    { NULL, NULL },
  };
  return molt_test_run ("line-reader", cases);
}
