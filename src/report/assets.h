// The front-end libraries a report page inlines (vega, vega-lite, vega-embed), embedded into
// the binary at build time by report/cmake/embed_assets.cmake from report/node_modules. Each
// view is empty when the packages were not installed at build time: the page then keeps its
// tables and says that charts are unavailable.
#pragma once
#include <string_view>

namespace gt::report {

std::string_view asset_vega();
std::string_view asset_vega_lite();
std::string_view asset_vega_embed();
std::string_view asset_versions();  // "vega@6.4.0 vega-lite@6.5.0 vega-embed@7.3.0" or ""

}  // namespace gt::report
