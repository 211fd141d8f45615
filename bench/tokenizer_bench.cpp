// Encoding throughput of the DeepSeek-V3 tokenizer, one thread, on mixed text
// gathered from Debian's own files: English (licence texts), code (the C++
// standard library headers) and Chinese (vim's Chinese tutor and message
// catalogues). Reports bytes/s per kind and for the mix.
//
//   build/bench/tokenizer_bench [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frugal/tokenizer/tokenizer.h"
#include "frugal/tokenizer/utf8.h"

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Documents (one per file or message) of up to `limit` bytes in all.
std::vector<std::string> gather(const std::vector<fs::path>& roots, const std::vector<std::string>& extensions,
                                std::size_t limit, bool split_on_nul = false) {
  std::vector<std::string> documents;
  std::size_t total = 0;
  for (const fs::path& root : roots) {
    if (!fs::exists(root)) continue;
    std::vector<fs::path> files;
    if (fs::is_directory(root)) {
      for (const auto& entry : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied))
        if (entry.is_regular_file()) files.push_back(entry.path());
    } else {
      files.push_back(root);
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const std::string name = file.filename().string();
      if (!extensions.empty() && std::none_of(extensions.begin(), extensions.end(), [&](const std::string& e) {
            return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
          }))
        continue;
      const std::string text = read(file);
      std::vector<std::string> parts;
      if (split_on_nul) {
        std::stringstream in(text);
        for (std::string part; std::getline(in, part, '\0');)
          if (part.size() > 8 && frugal::is_valid_utf8(part)) parts.push_back(part);
      } else if (frugal::is_valid_utf8(text)) {
        parts.push_back(text);
      }
      for (auto& part : parts) {
        if (total >= limit) return documents;
        total += part.size();
        documents.push_back(std::move(part));
      }
    }
  }
  return documents;
}

const frugal::Tokenizer& tokenizer() {
  static const frugal::Tokenizer t = frugal::Tokenizer::load(std::string(FRUGAL_SOURCE_DIR) + "/assets/tokenizer/deepseek-v3");
  return t;
}

const std::vector<std::string>& corpus(const std::string& kind) {
  static const std::vector<std::string> english =
      gather({"/usr/share/common-licenses", "/usr/share/doc"}, {"copyright"}, 2'000'000);
  static const std::vector<std::string> code = gather({"/usr/include/c++/12/bits"}, {".h", ".tcc"}, 1'500'000);
  static const std::vector<std::string> chinese =
      gather({"/usr/share/vim/vim90/tutor/tutor.zh_cn.utf-8", "/usr/share/vim/vim90/tutor/tutor.zh_tw.utf-8",
              "/usr/share/vim/vim90/lang/zh_CN.UTF-8", "/usr/share/locale/zh_CN", "/usr/share/locale/zh_TW"},
             {".utf-8", ".mo"}, 1'500'000, /*split_on_nul=*/true);
  static const std::vector<std::string> mixed = [] {
    std::vector<std::string> all = english;
    all.insert(all.end(), code.begin(), code.end());
    all.insert(all.end(), chinese.begin(), chinese.end());
    return all;
  }();
  if (kind == "english") return english;
  if (kind == "code") return code;
  if (kind == "chinese") return chinese;
  return mixed;
}

// `cold`: every pass starts with an empty piece cache, as a fresh process would.
void encode_corpus(benchmark::State& state, const std::string& kind, bool cold) {
  const auto& documents = corpus(kind);
  const auto& t = tokenizer();
  std::size_t bytes = 0, tokens = 0;
  for (const auto& d : documents) bytes += d.size();
  if (bytes == 0) {
    state.SkipWithError(("no " + kind + " text found on this machine").c_str());
    return;
  }
  for (auto _ : state) {
    if (cold) frugal::BytePairEncoder::clear_thread_cache();
    tokens = 0;
    for (const auto& d : documents) tokens += t.encode(d).size();
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["bytes_per_token"] = static_cast<double>(bytes) / static_cast<double>(tokens);
}

void BM_Encode(benchmark::State& state, const std::string& kind) { encode_corpus(state, kind, false); }
void BM_EncodeCold(benchmark::State& state, const std::string& kind) { encode_corpus(state, kind, true); }

void BM_Load(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(frugal::Tokenizer::load(std::string(FRUGAL_SOURCE_DIR) + "/assets/tokenizer/deepseek-v3"));
}

BENCHMARK_CAPTURE(BM_Encode, english, std::string("english"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Encode, code, std::string("code"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Encode, chinese, std::string("chinese"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Encode, mixed, std::string("mixed"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_EncodeCold, mixed, std::string("mixed"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_Load)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
