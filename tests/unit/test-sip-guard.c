#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <glib.h>

#include "sip/dt-sip-guard.h"

#define SECOND G_USEC_PER_SEC

typedef union {
  struct sockaddr     sa;
  struct sockaddr_in  in;
  struct sockaddr_in6 in6;
} Sockaddr;

static gsize
make_addr (Sockaddr   *out,
           const char *ip,
           guint16     port)
{
  memset (out, 0, sizeof *out);
  if (inet_pton (AF_INET, ip, &out->in.sin_addr) == 1)
    {
      out->in.sin_family = AF_INET;
      out->in.sin_port = htons (port);
      return sizeof out->in;
    }
  g_assert_cmpint (inet_pton (AF_INET6, ip, &out->in6.sin6_addr), ==, 1);
  out->in6.sin6_family = AF_INET6;
  out->in6.sin6_port = htons (port);
  return sizeof out->in6;
}

static gboolean
take (DtSipGuard *guard,
      const char *ip,
      gint64      now)
{
  Sockaddr a;
  gsize len = make_addr (&a, ip, 5060);

  return dt_sip_guard_take_token (guard, &a.sa, len, now);
}

static void
test_budget (void)
{
  DtSipGuard *guard = dt_sip_guard_new (10, 20);
  gint64 t0 = 1000 * SECOND;

  /* A burst of 20, then nothing until tokens come back at 10 a second. */
  for (int i = 0; i < 20; i++)
    g_assert_true (take (guard, "192.0.2.1", t0));
  g_assert_false (take (guard, "192.0.2.1", t0));
  g_assert_false (take (guard, "192.0.2.1", t0 + SECOND / 20));
  g_assert_true (take (guard, "192.0.2.1", t0 + SECOND / 10 + 1));
  g_assert_false (take (guard, "192.0.2.1", t0 + SECOND / 10 + 2));
  /* Another source has its own budget; the port plays no part. */
  g_assert_true (take (guard, "192.0.2.2", t0));
  /* Idle long enough, the bucket is full again, and no fuller. */
  for (int i = 0; i < 20; i++)
    g_assert_true (take (guard, "192.0.2.1", t0 + 60 * SECOND));
  g_assert_false (take (guard, "192.0.2.1", t0 + 60 * SECOND));
  dt_sip_guard_free (guard);
}

static void
test_ipv6_prefix_and_mapped (void)
{
  DtSipGuard *guard = dt_sip_guard_new (10, 20);
  gint64 t0 = 1000 * SECOND;

  /* A host holds its whole /64: one bucket for all of it. */
  for (int i = 0; i < 20; i++)
    {
      g_autofree char *ip = g_strdup_printf ("2001:db8:1:2::%x", i + 1);
      g_assert_true (take (guard, ip, t0));
    }
  g_assert_false (take (guard, "2001:db8:1:2:ffff::1", t0));
  g_assert_true (take (guard, "2001:db8:1:3::1", t0));
  g_assert_cmpuint (dt_sip_guard_n_sources (guard), ==, 2);

  /* An IPv4-mapped address is that IPv4 address. */
  for (int i = 0; i < 10; i++)
    g_assert_true (take (guard, "198.51.100.7", t0));
  for (int i = 0; i < 10; i++)
    g_assert_true (take (guard, "::ffff:198.51.100.7", t0));
  g_assert_false (take (guard, "198.51.100.7", t0));
  g_assert_cmpuint (dt_sip_guard_n_sources (guard), ==, 3);
  dt_sip_guard_free (guard);
}

static void
test_table_is_bounded (void)
{
  DtSipGuard *guard = dt_sip_guard_new (10, 20);
  gint64 t0 = 1000 * SECOND;

  for (guint i = 0; i < 4096; i++)
    {
      g_autofree char *ip = g_strdup_printf ("10.%u.%u.1", i / 256, i % 256);
      g_assert_true (take (guard, ip, t0));
    }
  g_assert_cmpuint (dt_sip_guard_n_sources (guard), ==, 4096);
  /* Full of busy sources: a new one cannot be tracked, and is refused;
   * the known ones keep their budget. */
  g_assert_false (take (guard, "10.200.0.1", t0 + SECOND / 2));
  g_assert_false (take (guard, "10.200.0.2", t0 + SECOND / 2 + 1));
  g_assert_true (take (guard, "10.0.0.1", t0 + SECOND / 2));
  g_assert_cmpuint (dt_sip_guard_n_sources (guard), ==, 4096);
  /* Once they are idle (their buckets full again) they are forgotten. */
  g_assert_true (take (guard, "10.200.0.1", t0 + 3 * SECOND));
  g_assert_cmpuint (dt_sip_guard_n_sources (guard), ==, 1);
  dt_sip_guard_free (guard);
}

static gboolean
trusted (SipTrust   *trust,
         const char *ip,
         guint16     port,
         gboolean    stream)
{
  Sockaddr a;
  gsize len = make_addr (&a, ip, port);

  return dt_sip_trust_is_next_hop (trust, &a.sa, len, stream);
}

static void
test_next_hops (void)
{
  SipTrust *trust = dt_sip_trust_new ();

  g_assert_false (trusted (trust, "127.0.0.1", 5060, FALSE));

  dt_sip_trust_add_next_hop (trust, "sip:127.0.0.1:5070", "udp");
  g_assert_true (trusted (trust, "127.0.0.1", 5070, FALSE));
  g_assert_true (trusted (trust, "::ffff:127.0.0.1", 5070, FALSE));
  /* Over UDP another port of the host is another program; over TCP or
   * TLS the server may connect from any port. */
  g_assert_false (trusted (trust, "127.0.0.1", 5071, FALSE));
  g_assert_true (trusted (trust, "127.0.0.1", 5071, TRUE));
  g_assert_false (trusted (trust, "127.0.0.2", 5070, TRUE));

  /* As the resolver leaves them: the address in maddr, the host name kept. */
  dt_sip_trust_add_next_hop (trust, "sip:proxy.example.org:5080;maddr=192.0.2.7", "udp");
  g_assert_true (trusted (trust, "192.0.2.7", 5080, FALSE));
  dt_sip_trust_add_next_hop (trust, "sips:registrar.example.org:5081;maddr=[2001:db8::7]", "tls");
  g_assert_true (trusted (trust, "2001:db8::7", 5081, TRUE));
  /* Default ports: 5061 for sips:, transport=tls or a TLS account. */
  dt_sip_trust_add_next_hop (trust, "sips:[2001:db8::1]", "udp");
  g_assert_true (trusted (trust, "2001:db8::1", 5061, FALSE));
  dt_sip_trust_add_next_hop (trust, "sip:192.0.2.9;transport=tls", "udp");
  g_assert_true (trusted (trust, "192.0.2.9", 5061, FALSE));
  dt_sip_trust_add_next_hop (trust, "sip:192.0.2.10", "tls");
  g_assert_true (trusted (trust, "192.0.2.10", 5061, FALSE));
  dt_sip_trust_add_next_hop (trust, "sip:192.0.2.11", "udp");
  g_assert_true (trusted (trust, "192.0.2.11", 5060, FALSE));
  g_assert_false (trusted (trust, "192.0.2.11", 5061, FALSE));

  /* Nothing to trust in these, and no harm done. */
  dt_sip_trust_add_next_hop (trust, "sip:unresolved.example.org", "udp");
  dt_sip_trust_add_next_hop (trust, "not a uri at all", "udp");
  dt_sip_trust_add_next_hop (trust, "sip:[::1", "udp");
  dt_sip_trust_add_next_hop (trust, NULL, "udp");
  g_assert_false (trusted (trust, "198.51.100.1", 5060, TRUE));
  dt_sip_trust_free (trust);
}

static void
test_other_budgets (void)
{
  DtSipGuard *guard = dt_sip_guard_new (100, 5);
  gint64 t0 = 1000 * SECOND;

  for (int i = 0; i < 5; i++)
    g_assert_true (take (guard, "192.0.2.1", t0));
  g_assert_false (take (guard, "192.0.2.1", t0));
  g_assert_true (take (guard, "192.0.2.1", t0 + SECOND / 100 + 1));
  dt_sip_guard_free (guard);

  /* A rate of 0: no limit, and nothing tracked. */
  guard = dt_sip_guard_new (0, 20);
  for (int i = 0; i < 1000; i++)
    g_assert_true (take (guard, "192.0.2.1", t0));
  g_assert_cmpuint (dt_sip_guard_n_sources (guard), ==, 0);
  dt_sip_guard_free (guard);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sip-guard/budget", test_budget);
  g_test_add_func ("/sip-guard/ipv6-prefix-and-mapped", test_ipv6_prefix_and_mapped);
  g_test_add_func ("/sip-guard/table-is-bounded", test_table_is_bounded);
  g_test_add_func ("/sip-guard/other-budgets", test_other_budgets);
  g_test_add_func ("/sip-guard/next-hops", test_next_hops);
  return g_test_run ();
}
