package dev.hourglass.cache.jcache;

import java.lang.management.ManagementFactory;
import javax.cache.CacheException;
import javax.management.InstanceNotFoundException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * Registers a JCache's management and statistics beans on the platform MBean server, under the
 * names JSR-107 gives them: {@code javax.cache:type=CacheConfiguration|CacheStatistics,
 * CacheManager=<uri>,Cache=<name>}, with the characters {@code , : = \n} of the URI and name
 * replaced by dots.
 */
final class MBeans {
  enum Kind {
    CONFIGURATION("CacheConfiguration"), STATISTICS("CacheStatistics");

    final String type;

    Kind(String type) {
      this.type = type;
    }
  }

  private MBeans() {}

  static ObjectName name(JCache<?, ?> cache, Kind kind) {
    String manager = safe(cache.getCacheManager().getURI().toString());
    String name = "javax.cache:type=" + kind.type + ",CacheManager=" + manager
        + ",Cache=" + safe(cache.getName());
    try {
      return new ObjectName(name);
    } catch (MalformedObjectNameException e) {
      throw new CacheException("illegal management name " + name, e);
    }
  }

  private static String safe(String part) {
    return (part == null) ? "" : part.replaceAll(",|:|=|\n", ".");
  }

  static void register(JCache<?, ?> cache, Object bean, Kind kind) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName name = name(cache, kind);
    try {
      if (!server.isRegistered(name)) {
        server.registerMBean(bean, name);
      }
    } catch (Exception e) {
      throw new CacheException("could not register " + name, e);
    }
  }

  static void unregister(JCache<?, ?> cache, Kind kind) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName name = name(cache, kind);
    try {
      if (server.isRegistered(name)) {
        server.unregisterMBean(name);
      }
    } catch (InstanceNotFoundException e) {
      // unregistered meanwhile by another close: what was wanted
    } catch (Exception e) {
      throw new CacheException("could not unregister " + name, e);
    }
  }
}
