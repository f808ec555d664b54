#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace parley::server {
namespace {

enum Type { kCounter, kGauge, kHistogram };

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// Prometheus float text: the shortest text that reads back as the same
// double; +Inf/-Inf/NaN spelled as the format requires.
std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, result.ptr);
}

// {a="1",b="2"} with an optional extra label (le for buckets); empty when no labels.
std::string LabelText(const MetricLabels& labels, std::string_view extra_name = {},
                      std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += k + "=\"" + EscapeLabelValue(v) + "\"";
  }
  if (!extra_name.empty()) {
    if (!first) out += ",";
    out += std::string(extra_name) + "=\"" + EscapeLabelValue(extra_value) + "\"";
  }
  out += "}";
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {
  if (!std::is_sorted(upper_bounds_.begin(), upper_bounds_.end()) ||
      std::adjacent_find(upper_bounds_.begin(), upper_bounds_.end()) != upper_bounds_.end() ||
      std::any_of(upper_bounds_.begin(), upper_bounds_.end(), [](double b) { return !std::isfinite(b); })) {
    throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
  }
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) noexcept {
  const auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  buckets_[static_cast<std::size_t>(it - upper_bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(upper_bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

struct MetricsRegistry::Family {
  int type = kCounter;
  std::string help;
  struct Series {
    MetricLabels labels;
    std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>,
                 std::function<double()>>
        metric;
  };
  std::vector<Series> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, std::string_view help, int type,
                                                    const MetricLabels& labels) {
  if (!ValidName(name, true)) throw std::invalid_argument("invalid metric name: " + std::string(name));
  for (const auto& [k, v] : labels) {
    if (!ValidName(k, false) || k.rfind("__", 0) == 0 || (type == kHistogram && k == "le")) {
      throw std::invalid_argument("invalid label name on " + std::string(name) + ": " + k);
    }
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->type = type;
    family->help = std::string(help);
    it = families_.emplace(std::string(name), std::move(family)).first;
  }
  Family& family = *it->second;
  if (family.type != type || family.help != help) {
    throw std::invalid_argument("metric " + std::string(name) + " already added with another type or help");
  }
  for (const Family::Series& s : family.series) {
    if (s.labels == labels) {
      throw std::invalid_argument("metric " + std::string(name) + " already added with these labels");
    }
  }
  return family;
}

Counter& MetricsRegistry::AddCounter(std::string_view name, std::string_view help, MetricLabels labels) {
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(name, help, kCounter, labels);
  auto counter = std::make_unique<Counter>();
  Counter& ref = *counter;
  family.series.push_back({std::move(labels), std::move(counter)});
  return ref;
}

Gauge& MetricsRegistry::AddGauge(std::string_view name, std::string_view help, MetricLabels labels) {
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(name, help, kGauge, labels);
  auto gauge = std::make_unique<Gauge>();
  Gauge& ref = *gauge;
  family.series.push_back({std::move(labels), std::move(gauge)});
  return ref;
}

Histogram& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                         std::vector<double> upper_bounds, MetricLabels labels) {
  auto histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(name, help, kHistogram, labels);
  Histogram& ref = *histogram;
  family.series.push_back({std::move(labels), std::move(histogram)});
  return ref;
}

void MetricsRegistry::AddCallbackGauge(std::string_view name, std::string_view help,
                                       std::function<double()> read, MetricLabels labels) {
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(name, help, kGauge, labels);
  family.series.push_back({std::move(labels), std::move(read)});
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + name + " " + EscapeHelp(family->help) + "\n";
    out += "# TYPE " + name + " " + kTypeNames[family->type] + "\n";
    for (const Family::Series& s : family->series) {
      if (const auto* c = std::get_if<std::unique_ptr<Counter>>(&s.metric)) {
        out += name + LabelText(s.labels) + " " + std::to_string((*c)->value()) + "\n";
      } else if (const auto* g = std::get_if<std::unique_ptr<Gauge>>(&s.metric)) {
        out += name + LabelText(s.labels) + " " + std::to_string((*g)->value()) + "\n";
      } else if (const auto* f = std::get_if<std::function<double()>>(&s.metric)) {
        out += name + LabelText(s.labels) + " " + FormatNumber((*f)()) + "\n";
      } else if (const auto* h = std::get_if<std::unique_ptr<Histogram>>(&s.metric)) {
        const Histogram& hist = **h;
        const std::vector<std::uint64_t> counts = hist.bucket_counts();
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          const std::string le =
              i < hist.upper_bounds().size() ? FormatNumber(hist.upper_bounds()[i]) : "+Inf";
          out += name + "_bucket" + LabelText(s.labels, "le", le) + " " + std::to_string(cumulative) + "\n";
        }
        out += name + "_sum" + LabelText(s.labels) + " " + FormatNumber(hist.sum()) + "\n";
        // The count is the +Inf bucket, so a scrape never sees them disagree.
        out += name + "_count" + LabelText(s.labels) + " " + std::to_string(cumulative) + "\n";
      }
    }
  }
  return out;
}

}  // namespace parley::server
