# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# What `cmake --install` (and `make install`) puts where, and the packages CPack makes from it:
#   bin/meshnode, bin/meshsim, bin/meshbench          (with MESHNODE_BUILD_TOOLS)
#   lib/libmeshnode.so.1 (SONAME), .so.0.x.y, .so; lib/libmeshnode.a
#   include/meshnode/meshnode.h                        (self-contained, extern "C")
#   lib/pkgconfig/meshnode.pc                          (relocatable: paths from ${pcfiledir})
#   lib/cmake/meshnode/                                (find_package(meshnode): meshnode::meshnode,
#                                                       meshnode::meshnode_static)
#   share/doc/meshnode/                                (README, LICENSE, docs, example.c)
#   share/man/man1/meshnode.1, meshsim.1, meshbench.1  (with MESHNODE_BUILD_TOOLS)
#   share/man/man3/meshnode.3
#   share/meshnode/wireshark/meshnode.lua              (the capture dissector, docs/usage.md)
# tests/install checks this list, the exported symbols, and programs built against it.
include(CMakePackageConfigHelpers)

set(MESHNODE_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/meshnode)

if(MESHNODE_BUILD_TOOLS)
  install(TARGETS meshnode meshsim meshbench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES docs/man/meshnode.1 docs/man/meshsim.1 docs/man/meshbench.1
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

install(TARGETS meshnode_shared meshnode_static EXPORT meshnodeTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${MESHNODE_PUBLIC_INCLUDE}/meshnode/meshnode.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/meshnode)
install(FILES docs/man/meshnode.3 DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)

# pkg-config: the prefix is found from where the .pc file lies, so the same file works in
# /usr, /usr/local, a DESTDIR or an extracted package.
file(RELATIVE_PATH MESHNODE_PC_TO_PREFIX
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/meshnode.pc.in ${PROJECT_BINARY_DIR}/meshnode.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/meshnode.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(EXPORT meshnodeTargets NAMESPACE meshnode:: DESTINATION ${MESHNODE_CMAKEDIR})
configure_package_config_file(cmake/meshnodeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/meshnodeConfig.cmake
                              INSTALL_DESTINATION ${MESHNODE_CMAKEDIR})
# 0.x: a new minor version may change the API, so only the same minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/meshnodeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/meshnodeConfig.cmake
        ${PROJECT_BINARY_DIR}/meshnodeConfigVersion.cmake DESTINATION ${MESHNODE_CMAKEDIR})

# Wireshark loads it with -X lua_script:PATH, or from its Lua plugin folder once copied there.
install(FILES tools/wireshark/meshnode.lua DESTINATION ${CMAKE_INSTALL_DATADIR}/meshnode/wireshark)

install(FILES README.md LICENSE docs/protocol.md docs/crypto.md docs/usage.md docs/meshsim.md
        docs/performance.md docs/example.c DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- packages: cpack -G DEB (or TGZ) in the build directory ------------------------------
set(CPACK_PACKAGE_NAME meshnode)
set(CPACK_PACKAGE_VENDOR "The meshnode authors")
set(CPACK_PACKAGE_CONTACT "The meshnode authors <meshnode@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "meshnode finds its peers on the LAN by signed UDP multicast beacons, holds one Noise XX
authenticated, encrypted link to each over ZeroMQ, and carries group broadcasts and direct
messages. This package has the meshnode chat and JSON-lines program, meshsim and meshbench,
and the embeddable library libmeshnode with its header, pkg-config file and CMake package.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB TGZ)        # the .deb installs under /usr, its generator's default
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# dpkg-shlibdeps (dpkg-dev) names the exact libsodium, libzmq and libmsgpackc packages the
# binaries were linked against. meshnode loads libedit itself, on a terminal (node/editlib.h),
# so shlibdeps cannot see it: its package is named here, and CPack adds the rest after it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libedit2 (the package of libedit.so.2, MESHNODE_LIBEDIT_SONAME) from the version whose
# symbols file first lists the wide-character functions meshnode calls.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libedit2 (>= 3.1-20140620)")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# The source package: what a machine without git can unpack and build.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "\\\\.swp$" "/__pycache__/")
include(CPack)
