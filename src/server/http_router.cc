#include "server/http_route.h"

#include <algorithm>

namespace parley::server {
namespace {

bool Matches(const HttpRoute& route, std::string_view path) {
  if (route.path.back() == '/') return path.substr(0, route.path.size()) == route.path;
  return path == route.path;
}

bool HasMethod(const HttpRoute& route, HttpMethod method) {
  return std::find(route.methods.begin(), route.methods.end(), method) != route.methods.end();
}

}  // namespace

std::optional<std::string_view> HttpRequestHead::Field(std::string_view lower_case_name) const {
  for (const HttpField& f : fields) {
    if (f.name == lower_case_name) return std::string_view(f.value);
  }
  return std::nullopt;
}

bool HttpRouter::Add(HttpRoute route) {
  if (route.path.empty() || route.path.front() != '/' || route.methods.empty() || !route.handler)
    return false;
  for (const HttpRoute& existing : routes_) {
    if (existing.path != route.path) continue;
    for (HttpMethod m : route.methods) {
      if (HasMethod(existing, m)) return false;
    }
  }
  routes_.push_back(std::move(route));
  return true;
}

HttpRouter::Match HttpRouter::Find(std::string_view path, HttpMethod method) const {
  // The most specific matching path: exact first, then the longest prefix.
  const HttpRoute* best_path_route = nullptr;
  auto more_specific = [](const HttpRoute& a, const HttpRoute* b) {
    if (b == nullptr) return true;
    const bool a_exact = a.path.back() != '/';
    const bool b_exact = b->path.back() != '/';
    if (a_exact != b_exact) return a_exact;
    return a.path.size() > b->path.size();
  };
  for (const HttpRoute& r : routes_) {
    if (Matches(r, path) && more_specific(r, best_path_route)) best_path_route = &r;
  }
  Match match;
  if (best_path_route == nullptr) return match;
  for (const HttpRoute& r : routes_) {
    if (r.path != best_path_route->path) continue;
    for (HttpMethod m : r.methods) {
      if (std::find(match.allowed.begin(), match.allowed.end(), m) == match.allowed.end()) {
        match.allowed.push_back(m);
      }
    }
    if (match.route == nullptr && HasMethod(r, method)) match.route = &r;
  }
  return match;
}

std::string_view ToString(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kHead:
      return "HEAD";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kPatch:
      return "PATCH";
    case HttpMethod::kDelete:
      return "DELETE";
    case HttpMethod::kOptions:
      return "OPTIONS";
    case HttpMethod::kOther:
      return "OTHER";
  }
  return "OTHER";
}

}  // namespace parley::server
