#pragma once
// An error the server answers in OpenAI's shape:
// {"error": {"message", "type", "param", "code"}} with an HTTP status.
#include <string>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"

namespace frugal::serve {

struct ApiError : Error {
  ApiError(int status, std::string message, std::string param = "", std::string code = "")
      : Error(message), status(status), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string param;  // the request field at fault, if any
  std::string code;

  // "invalid_request_error", "authentication_error", ... from the status.
  std::string type() const;
  nlohmann::json to_json() const;
};

}  // namespace frugal::serve
