#include "frugal/serve/connection_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace frugal::serve {
namespace {

// The port and textual address of a socket address (IPv4 or IPv6).
bool endpoint(const sockaddr_storage& address, std::string& host, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(address);
    port = ntohs(a.sin_port);
    return inet_ntop(AF_INET, &a.sin_addr, text, sizeof text) != nullptr && (host = text, true);
  }
  if (address.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    port = ntohs(a.sin6_port);
    return inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text) != nullptr && (host = text, true);
  }
  return false;
}

}  // namespace

ConnectionWatch::ConnectionWatch(const std::string& remote_addr, int remote_port, int local_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    struct stat info {};
    if (fstat(static_cast<int>(fd), &info) != 0 || !S_ISSOCK(info.st_mode)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_size = sizeof local, peer_size = sizeof peer;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_size) != 0) continue;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) continue;
    std::string local_host, peer_host;
    int local_port_found = 0, peer_port = 0;
    if (!endpoint(local, local_host, local_port_found) || !endpoint(peer, peer_host, peer_port)) continue;
    if (local_port_found == local_port && peer_port == remote_port && peer_host == remote_addr) {
      fd_ = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
}

bool ConnectionWatch::connected() const {
  if (fd_ < 0) return true;
  // POLLRDHUP: the peer closed (or shut down its sending side), even when
  // bytes it sent before are still unread.
  pollfd p{fd_, POLLRDHUP, 0};
  if (poll(&p, 1, 0) < 0) return errno == EINTR;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0;
}

}  // namespace frugal::serve
