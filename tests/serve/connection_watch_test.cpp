// ConnectionWatch finds a connection's socket by its endpoints and sees the
// peer leave.
#include "frugal/serve/connection_watch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace frugal::serve {
namespace {

TEST(ConnectionWatch, SeesTheClientCloseItsEnd) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t size = sizeof address;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size), 0);
  const int local_port = ntohs(address.sin_port);

  const int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  sockaddr_in client_address{};
  size = sizeof client_address;
  const int accepted = accept(listener, reinterpret_cast<sockaddr*>(&client_address), &size);
  ASSERT_GE(accepted, 0);

  const ConnectionWatch watch("127.0.0.1", ntohs(client_address.sin_port), local_port);
  EXPECT_TRUE(watch.connected());
  ASSERT_EQ(write(client, "x", 1), 1);  // pending data is not a close
  EXPECT_TRUE(watch.connected());
  close(client);
  EXPECT_FALSE(watch.connected());
  // A watch for a connection that does not exist cannot tell, so it says connected.
  EXPECT_TRUE(ConnectionWatch("127.0.0.1", 1, 1).connected());
  close(accepted);
  close(listener);
}

}  // namespace
}  // namespace frugal::serve
