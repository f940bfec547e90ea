# Every dependency is a Debian package found with find_package or pkg-config; nothing is vendored
# and nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Torch REQUIRED)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(cppzmq REQUIRED)
find_package(Boost 1.74 REQUIRED)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)


# Headers from third parties are SYSTEM so their warnings stay theirs.
add_library(primus_deps_base INTERFACE)
target_link_libraries(primus_deps_base INTERFACE Threads::Threads Eigen3::Eigen fmt::fmt
                      spdlog::spdlog nlohmann_json::nlohmann_json)
target_compile_definitions(primus_deps_base INTERFACE SPDLOG_FMT_EXTERNAL)

add_library(primus_deps_io INTERFACE)
target_link_libraries(primus_deps_io INTERFACE cppzmq Boost::headers PkgConfig::TOMLPP
                      PkgConfig::SYSTEMD PkgConfig::HTTPLIB PkgConfig::MOSQUITTO
                      CLI11::CLI11)
target_compile_definitions(primus_deps_io INTERFACE BOOST_ASIO_NO_DEPRECATED)
