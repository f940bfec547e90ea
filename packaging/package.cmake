# The Debian package (scripts/package): what `cmake --install` adds beyond the binaries, unit and
# config (man pages, bash completion, docs), and the CPack DEB settings. Included from the top
# CMakeLists.txt. Configure with -DCMAKE_INSTALL_PREFIX=/usr -DPRIMUS_SYSTEMD_UNIT_DIR=/lib/systemd/system
# for a package (scripts/package does), since /etc and the unit directory are fixed at configure time.

set(PRIMUS_PACKAGE_MAINTAINER "primusd maintainers <primusd-maintainers@example.org>"
    CACHE STRING "Maintainer field of the Debian package")
set(PRIMUS_PACKAGE_RELEASE "1" CACHE STRING "Debian revision of the package (version-REVISION)")

# ---- files gzip-compressed at build time (man pages, changelog.Debian): gzip -9n, reproducible --
set(_pkg_src ${PROJECT_SOURCE_DIR}/packaging)
set(_pkg_out ${PROJECT_BINARY_DIR}/packaging)
set(_pkg_man primusd.8 primusd.toml.5 primusctl.1 primus-model.1)
# primusd.toml(5) lists the keys of config/primusd.toml, the reference config, with its comments.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_custom_command(OUTPUT ${_pkg_out}/primusd.toml.5
                   COMMAND ${CMAKE_COMMAND} -E make_directory ${_pkg_out}
                   COMMAND Python3::Interpreter ${_pkg_src}/man/toml2man.py
                           ${_pkg_src}/man/primusd.toml.5.in ${PROJECT_SOURCE_DIR}/config/primusd.toml
                           ${_pkg_out}/primusd.toml.5
                   DEPENDS ${_pkg_src}/man/toml2man.py ${_pkg_src}/man/primusd.toml.5.in
                           ${PROJECT_SOURCE_DIR}/config/primusd.toml
                   VERBATIM)
set(_pkg_gz)
foreach(page ${_pkg_man} changelog)
  if(page STREQUAL "changelog")
    set(in ${_pkg_src}/debian/changelog)
    set(out ${_pkg_out}/changelog.Debian.gz)
  elseif(page STREQUAL "primusd.toml.5")
    set(in ${_pkg_out}/${page})
    set(out ${_pkg_out}/${page}.gz)
  else()
    set(in ${_pkg_src}/man/${page})
    set(out ${_pkg_out}/${page}.gz)
  endif()
  add_custom_command(OUTPUT ${out}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${_pkg_out}
                     COMMAND sh -c "gzip -9nc \"$0\" > \"$1\"" ${in} ${out}
                     DEPENDS ${in} VERBATIM)
  list(APPEND _pkg_gz ${out})
endforeach()
add_custom_target(primus_package_files ALL DEPENDS ${_pkg_gz})

foreach(page ${_pkg_man})
  string(REGEX MATCH "[0-9]$" section "${page}")
  install(FILES ${_pkg_out}/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
install(FILES ${_pkg_src}/bash-completion/primusctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${_pkg_src}/debian/copyright ${_pkg_out}/changelog.Debian.gz README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB _pkg_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${_pkg_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# ---- CPack: one DEB, primusd_<version>-<release>_<arch>.deb --------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME primusd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # debug info stays in the build tree
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time IMU gesture daemon (PRIMUS encoder, ZeroMQ events)")
set(CPACK_PACKAGE_DESCRIPTION
    "primusd reads live motion data from wearable IMU sensors (USB serial, BLE\n"
    "through BlueZ, UDP, file replay, a simulator), resamples it to 50 Hz, runs the\n"
    "PRIMUS IMU encoder in LibTorch on sliding windows and publishes gesture events\n"
    "on a ZeroMQ bus. Users label motion over a control API and the daemon\n"
    "fine-tunes its model in the background.\n"
    "\n"
    "This package holds the daemon (a systemd Type=notify service), primusctl (the\n"
    "client and offline tools) and primus-model (weight-file tools).")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PRIMUS_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_RELEASE "${PRIMUS_PACKAGE_RELEASE}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://arxiv.org/abs/2411.15127")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # dpkg-shlibdeps: the libraries the binaries link
# The maintainer scripts run systemd-sysusers; OpenBLAS (OpenMP) is LibTorch's fast BLAS.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | systemd-standalone-sysusers | systemd-sysusers")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp, python3")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch, python3-zmq")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_pkg_src}/debian/conffiles ${_pkg_src}/debian/postinst ${_pkg_src}/debian/prerm
    ${_pkg_src}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/package)
include(CPack)
