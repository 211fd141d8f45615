#include "frugal/train/token_sequences.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/io/checkpoint.h"

namespace frugal {

std::vector<std::vector<int32_t>> parse_token_sequences(const std::string& json_text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": not valid JSON: ", e.what());
  }
  const nlohmann::json* list = &doc;
  if (doc.is_object()) {
    if (!doc.contains("sequences")) fail(source, ": no \"sequences\" field");
    list = &doc["sequences"];
  }
  if (!list->is_array() || list->empty()) fail(source, ": \"sequences\" must be a non-empty list of token-id lists");
  std::vector<std::vector<int32_t>> sequences;
  for (std::size_t s = 0; s < list->size(); ++s) {
    const nlohmann::json& seq = (*list)[s];
    if (!seq.is_array()) fail(source, ": sequence ", s, " is not a list of token ids");
    std::vector<int32_t> ids;
    for (std::size_t i = 0; i < seq.size(); ++i) {
      const nlohmann::json& id = seq[i];
      if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
          id.get<int64_t>() > std::numeric_limits<int32_t>::max())
        fail(source, ": sequence ", s, ", element ", i, " is not a token id: ", id.dump());
      ids.push_back(id.get<int32_t>());
    }
    sequences.push_back(std::move(ids));
  }
  return sequences;
}

std::vector<std::vector<int32_t>> read_token_sequences(const std::string& path) {
  return parse_token_sequences(read_text_file(path), path);
}

}  // namespace frugal
