#!/usr/bin/env bash
# Nextflow launcher installed by setup/setup.sh: runs the Maven Central jars of a pinned
# Nextflow 24.10.x the way the official launcher does, offline and without plugins.
export NXF_HOME=${NXF_HOME:-@HOME@}
export NXF_OFFLINE=${NXF_OFFLINE:-true}
export NXF_PLUGINS_DEFAULT=${NXF_PLUGINS_DEFAULT:-false}
unset JAVA_TOOL_OPTIONS
opens=()
for pkg in java.lang java.io java.nio java.net java.util java.util.concurrent.locks java.util.concurrent.atomic \
    java.nio.file.spi sun.nio.ch sun.nio.fs sun.net.www.protocol.http sun.net.www.protocol.https \
    sun.net.www.protocol.ftp sun.net.www.protocol.file jdk.internal.misc jdk.internal.vm java.util.regex; do
    opens+=("--add-opens=java.base/$pkg=ALL-UNNAMED")
done
# shellcheck disable=SC2086
exec java -Dfile.encoding=UTF-8 -Djava.awt.headless=true -Dcom.sun.security.enableAIAcaIssuers=true \
    "${opens[@]}" $NXF_OPTS -cp "@LIB@/*" nextflow.cli.Launcher "$@"
