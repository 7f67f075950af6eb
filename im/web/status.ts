console.log('status');
