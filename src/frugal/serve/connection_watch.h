#pragma once
// Tells whether an HTTP client is still connected while its request waits
// for the engine. Debian's cpp-httplib (0.11) gives handlers no way to ask,
// so the watch finds the connection's socket among the process's open
// descriptors by its two endpoints (the request's local and remote address
// and port) and polls it: a close, a reset or a shut-down sending side
// (POLLRDHUP) reads as gone; HTTP clients never half-close while they wait.
#include <string>

namespace frugal::serve {

class ConnectionWatch {
 public:
  ConnectionWatch(const std::string& remote_addr, int remote_port, int local_port);
  // False once the peer has closed or reset the connection. A watch that
  // could not find its socket always answers true.
  bool connected() const;

 private:
  int fd_ = -1;
};

}  // namespace frugal::serve
